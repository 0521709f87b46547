//! The words of names, email addresses and host names that a password guesser who knows
//! them would try, folded the same way everywhere (`auth::strength` and the organisation's
//! words in `settings`). Plain Rust, no import: a leaf.

/// Pieces shorter than this are left to brute force.
pub const MIN_WORD_CHARS: usize = 3;

/// Lowercase, without the accents French names and words carry (`Élodie` is `elodie`), one
/// character for one so that positions stay aligned.
pub fn fold(c: char) -> char {
    let c = c.to_lowercase().next().unwrap_or(c);
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'æ' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'œ' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

/// The words of a name, an email address, an organisation or a host name that an attacker
/// who knows them would try: each part of at least three letters, and the parts joined.
pub fn identity_words(text: &str) -> Vec<String> {
    let folded: String = text.chars().map(fold).collect();
    let parts: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    let mut words: Vec<String> = parts
        .iter()
        .filter(|p| p.chars().count() >= MIN_WORD_CHARS)
        .map(|p| p.to_string())
        .collect();
    if parts.len() > 1 {
        words.push(parts.concat());
    }
    words
}
