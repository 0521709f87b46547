//! Text the publications share (the JSON-LD posting and the XML feeds): XML escaping, the
//! offer's page and its description as HTML. Plain Rust: both formats use it, neither
//! borrows from the other.

use crate::offers::model::Offer;

/// Whether XML 1.0 allows the character at all (section 2.2), even escaped.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Text content: `&`, `<` and `>` escaped, characters XML cannot carry dropped.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| is_xml_char(*c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// An attribute value, for double quotes.
pub fn escape_attr(s: &str) -> String {
    escape_text(s)
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
        .replace('\t', "&#9;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
}

/// A CDATA section holding `s` exactly: a `]]>` inside would end the section early, so it is
/// split across two sections (`]]` ends the first, `>` starts the second).
pub fn cdata(s: &str) -> String {
    let clean: String = s.chars().filter(|c| is_xml_char(*c)).collect();
    format!("<![CDATA[{}]]>", clean.replace("]]>", "]]]]><![CDATA[>"))
}

/// The page of an offer, from `OFFER_URL_TEMPLATE`.
pub fn offer_url(template: &str, offer: &Offer) -> String {
    template
        .replace("{slug}", &offer.slug)
        .replace("{id}", &offer.id.to_string())
}

/// The description as HTML, built from the offer's text: summary, context, missions, profile.
/// Every piece of text is escaped; only the markup is ours.
pub fn description_html(offer: &Offer) -> String {
    let para = |text: &str| {
        text.split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| format!("<p>{}</p>", escape_text(p).replace('\n', "<br>")))
            .collect::<String>()
    };
    let mut html = para(&offer.content.summary);
    if !offer.content.context.trim().is_empty() {
        html.push_str("<h3>Contexte</h3>");
        html.push_str(&para(&offer.content.context));
    }
    if !offer.content.missions.is_empty() {
        html.push_str("<h3>Missions</h3><ul>");
        for m in offer.content.missions.iter() {
            html.push_str(&format!("<li>{}</li>", escape_text(m)));
        }
        html.push_str("</ul>");
    }
    if !offer.content.profile.trim().is_empty() {
        html.push_str("<h3>Profil recherché</h3>");
        html.push_str(&para(&offer.content.profile));
    }
    html
}
