//! How many guesses a new password would take, estimated the way zxcvbn does (Wheeler,
//! "zxcvbn: Low-Budget Password Strength Estimation", USENIX Security 2016): the password is
//! cut into pieces an attacker would try (a breached password, a word of the account's
//! name or email, the organisation's name, a year, a sequence such as `123456` or `abcd`, a
//! repeated character, and brute force for the rest) and the cheapest cut is kept. Capitals
//! and leetspeak (`P@ssw0rd`) cost little more than the word they decorate, so
//! `Grenoble2026!` is the city and this year and `camillemartin` is the account's own name.
//!
//! Pure CPU work bounded by the password's length (256 characters at most): a few
//! milliseconds.

use crate::words::{fold, MIN_WORD_CHARS};
use std::{collections::HashMap, sync::OnceLock};

/// Breached passwords, most common first; the rank of a word is its line among the entries.
const BREACHED: &str = include_str!("breached_passwords.txt");

/// The longest piece looked up in the word lists.
const MAX_WORD_CHARS: usize = 32;
/// zxcvbn's floor for a piece that is part of a longer password, and its cost per extra
/// piece (the attacker does not know how many pieces there are).
const MIN_PIECE_GUESSES: f64 = 50.0;
const PIECE_PENALTY_LOG10: f64 = 4.0;
/// Cuts with more pieces than this are never the cheapest (the penalty alone is 10^80).
const MAX_PIECES: usize = 20;
/// Printable ASCII symbols, space included.
const SYMBOLS: f64 = 33.0;

fn breached() -> &'static HashMap<&'static str, u32> {
    static RANKS: OnceLock<HashMap<&'static str, u32>> = OnceLock::new();
    RANKS.get_or_init(|| {
        BREACHED
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .zip(1u32..)
            .collect()
    })
}

/// Leetspeak read back as letters, in two readings of `1` and `|` (`i` and `l`).
fn unleet(c: char, one: char) -> char {
    match c {
        '4' | '@' => 'a',
        '8' => 'b',
        '(' => 'c',
        '3' => 'e',
        '6' | '9' => 'g',
        '1' | '|' => one,
        '!' => 'i',
        '0' => 'o',
        '5' | '$' => 's',
        '7' | '+' => 't',
        '2' => 'z',
        other => other,
    }
}

#[derive(Debug, Clone, Copy)]
struct Piece {
    end: usize,
    log10_guesses: f64,
}

fn log10_binomial(n: usize, k: usize) -> f64 {
    (0..k)
        .map(|i| ((n - i) as f64 / (i + 1) as f64).log10())
        .sum()
}

/// The extra guesses for capitals: none for lowercase, a factor 2 for a capital first letter
/// or all capitals, else every way of placing that many capitals (zxcvbn's rule).
fn log10_capitals(original: &[char]) -> f64 {
    let upper = original.iter().filter(|c| c.is_uppercase()).count();
    let lower = original.iter().filter(|c| c.is_lowercase()).count();
    if upper == 0 {
        return 0.0;
    }
    if lower == 0 || (upper == 1 && original[0].is_uppercase()) {
        return 2f64.log10();
    }
    let n = upper + lower;
    let ways: f64 = (1..=upper.min(lower))
        .map(|k| 10f64.powf(log10_binomial(n, k)))
        .sum();
    ways.log10()
}

/// Every piece that starts at each position, other than brute force.
fn pieces(password: &str, identity: &[String], year: i32) -> Vec<Vec<Piece>> {
    let original: Vec<char> = password.chars().collect();
    let lower: Vec<char> = original.iter().copied().map(fold).collect();
    let n = lower.len();
    let readings: [Vec<char>; 3] = [
        lower.clone(),
        lower.iter().map(|&c| unleet(c, 'i')).collect(),
        lower.iter().map(|&c| unleet(c, 'l')).collect(),
    ];
    let ranks = breached();
    let mut found: Vec<Vec<Piece>> = vec![Vec::new(); n];
    let mut add = |start: usize, end: usize, log10_guesses: f64| {
        let floor = if end - start > 1 {
            MIN_PIECE_GUESSES.log10()
        } else {
            1.0
        };
        found[start].push(Piece {
            end,
            log10_guesses: log10_guesses.max(floor),
        });
    };

    // Words: breached passwords and the account's and organisation's own words.
    for start in 0..n {
        for end in (start + MIN_WORD_CHARS)..=n.min(start + MAX_WORD_CHARS) {
            let capitals = log10_capitals(&original[start..end]);
            for (reading, chars) in readings.iter().enumerate() {
                let span = &chars[start..end];
                let substituted = span
                    .iter()
                    .zip(&lower[start..end])
                    .filter(|(a, b)| a != b)
                    .count();
                if reading > 0 && substituted == 0 {
                    continue;
                }
                let word: String = span.iter().collect();
                // Each substitution doubles the guesses, at most ten of them counted.
                let leet = substituted.min(10) as f64 * 2f64.log10();
                if identity.contains(&word) {
                    add(start, end, capitals + leet);
                }
                if let Some(rank) = ranks.get(word.as_str()) {
                    add(start, end, (*rank as f64).log10() + capitals + leet);
                }
            }
        }
    }

    // Years from 1900 to 2099: the closer to this year, the sooner tried.
    for start in 0..n.saturating_sub(3) {
        let span: String = lower[start..start + 4].iter().collect();
        if let Ok(y) = span.parse::<i32>() {
            if (1900..=2099).contains(&y) && span.chars().all(|c| c.is_ascii_digit()) {
                add(start, start + 4, ((y - year).abs().max(20) as f64).log10());
            }
        }
    }

    // Sequences (`1234`, `abcd`, `9876`) and repeats (`aaaa`, `1111`) of three or more.
    // Sequences are of letters or digits; a repeat may be of any character.
    let code = |c: char, delta: i32| (delta == 0 || c.is_ascii_alphanumeric()).then_some(c as i32);
    for start in 0..n {
        let c = lower[start];
        let base: f64 = if "az019".contains(c) {
            4.0
        } else if c.is_ascii_digit() {
            10.0
        } else if c.is_alphabetic() {
            26.0
        } else {
            SYMBOLS
        };
        for delta in [-1, 0, 1] {
            let Some(first) = code(c, delta) else {
                continue;
            };
            let mut end = start + 1;
            while end < n && code(lower[end], delta) == Some(first + delta * (end - start) as i32) {
                end += 1;
                if end - start >= 3 {
                    let length = (end - start) as f64;
                    let direction = if delta == -1 { 2.0 } else { 1.0 };
                    add(start, end, (base * direction * length).log10());
                }
            }
        }
    }
    found
}

/// log10 of the guesses needed, the cheapest way, for `password` by an attacker who knows
/// `identity` (the account's and the organisation's words) and `year`.
pub fn log10_guesses(password: &str, identity: &[String], year: i32) -> f64 {
    let found = pieces(password, identity, year);
    let separator: Vec<bool> = password.chars().map(|c| !c.is_alphanumeric()).collect();
    let n = found.len();
    if n == 0 {
        return 0.0;
    }
    // best[i][k]: the cheapest log10 product of guesses for the first i characters cut into
    // k pieces.
    let mut best = vec![[f64::INFINITY; MAX_PIECES + 1]; n + 1];
    best[0][0] = 0.0;
    for start in 0..n {
        for k in 0..=MAX_PIECES {
            let so_far = best[start][k];
            if !so_far.is_finite() {
                continue;
            }
            // A separator or a trailing symbol (`kerbrat.yolene!`) is one of the 33 printable
            // ASCII symbols tried between pieces, not a piece of its own: mangling rules try
            // it with every word.
            if separator[start] {
                let slot = &mut best[start + 1][k];
                *slot = slot.min(so_far + SYMBOLS.log10());
            }
            let mut relax = |end: usize, cost: f64| {
                if k < MAX_PIECES {
                    let slot = &mut best[end][k + 1];
                    *slot = slot.min(so_far + cost);
                }
            };
            for piece in &found[start] {
                relax(piece.end, piece.log10_guesses);
            }
            // Brute force: ten guesses a character (zxcvbn's cardinality), at least 11 for one
            // character and 51 for more.
            for end in start + 1..=n {
                let floor: f64 = if end - start == 1 { 11.0 } else { 51.0 };
                relax(end, ((end - start) as f64).max(floor.log10()));
            }
        }
    }
    // Nothing but symbols: brute force over them.
    let mut answer = best[n][0];
    let mut log10_factorial = 0.0;
    for (k, &product) in best[n].iter().enumerate().skip(1) {
        log10_factorial += (k as f64).log10();
        if product.is_finite() {
            // k! orderings of the pieces, plus the penalty for not knowing there are k.
            let a = log10_factorial + product;
            let b = PIECE_PENALTY_LOG10 * (k - 1) as f64;
            answer = answer.min(a.max(b) + (1.0 + 10f64.powf(-(a - b).abs())).log10());
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::words::identity_words;

    const ACCOUNT: [&str; 3] = ["Yolène Kerbrat", "yolene.kerbrat", "Ville de Villeurbanne"];

    fn guesses(password: &str, identity: &[&str]) -> f64 {
        let words: Vec<String> = identity.iter().flat_map(|w| identity_words(w)).collect();
        log10_guesses(password, &words, 2026)
    }

    #[test]
    fn names_the_organisation_years_and_breached_passwords_are_cheap() {
        for weak in [
            "camillemartin",
            "yolenekerbrat",
            "YoleneKerbrat!",
            "K3rbr4t.Y0l3n3",
            "Villeurbanne2026!",
            "V1ll3urb4nn3-2026",
            "Grenoble2026!",
            "Azerty123456!",
            "P@ssw0rd12345",
            "motdepasse2025",
            "qwertyuiop123",
            "abcdefgh1234",
            "passerelle2026",
            "!!!!!!!!!!!!",
            "aaaaaaaaaaaaaaaa",
        ] {
            let g = guesses(weak, &ACCOUNT);
            assert!(g < 10.0, "{weak}: 10^{g}");
        }
        // Without the account's words, the name and the city are brute-forced.
        assert!(guesses("yolenekerbrat", &[]) >= 10.0);
        assert!(guesses("Villeurbanne2026!", &[]) >= 10.0);
    }

    #[test]
    fn phrases_of_unrelated_words_are_strong() {
        for strong in [
            "vélo orange sous la pluie",
            "correct horse battery staple",
            "un mot de passe assez long",
            "une phrase de passe solide",
            "demo-admin-passphrase",
            "Tq7#vL2!mZ9@xR4p",
        ] {
            let g = guesses(strong, &ACCOUNT);
            assert!(g >= 10.0, "{strong}: 10^{g}");
        }
    }

    #[test]
    fn identity_words_are_the_parts_and_the_whole() {
        assert_eq!(
            identity_words("Élodie Le Gall"),
            vec!["elodie", "gall", "elodielegall"]
        );
        assert_eq!(
            identity_words("jean-paul.dupont"),
            vec!["jean", "paul", "dupont", "jeanpauldupont"]
        );
    }

    #[test]
    fn the_estimate_is_finite_from_the_empty_to_the_longest_password() {
        assert!(guesses(&"ab1!".repeat(64), &ACCOUNT).is_finite());
        assert_eq!(guesses("", &[]), 0.0);
    }
}
