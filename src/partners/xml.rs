//! The XML feeds of the public offers, written by hand: an Indeed-style job feed and an Atom
//! 1.0 feed (RFC 4287). Plain Rust, no XML crate: escaping is the whole difficulty, so it is
//! here, once, with its tests.

use super::text::{cdata, description_html, escape_attr, escape_text, offer_url};
use crate::offers::{
    domain::Location,
    france::{education_level_name, region},
    model::Offer,
};
use chrono::{DateTime, SecondsFormat, Utc};

/// A small writer: elements with escaped text, CDATA or children.
#[derive(Default)]
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    pub fn new() -> Self {
        XmlWriter {
            out: String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"),
        }
    }

    fn tag(&mut self, name: &str, attrs: &[(&str, &str)], close: &str) {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push_str(&format!(" {k}=\"{}\"", escape_attr(v)));
        }
        self.out.push_str(close);
    }

    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.tag(name, attrs, ">\n");
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        self.out.push_str(&format!("</{name}>\n"));
        self
    }

    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.tag(name, attrs, "/>\n");
        self
    }

    pub fn text(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> &mut Self {
        self.tag(name, attrs, ">");
        self.out.push_str(&escape_text(text));
        self.out.push_str(&format!("</{name}>\n"));
        self
    }

    pub fn cdata(&mut self, name: &str, text: &str) -> &mut Self {
        self.out
            .push_str(&format!("<{name}>{}</{name}>\n", cdata(text)));
        self
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// What both feeds say about themselves.
pub struct FeedInfo<'a> {
    pub publisher: &'a str,
    pub base_url: &'a str,
    /// The organisation's own site, when it is set (`ORGANIZATION_URL`).
    pub organization_url: Option<&'a str>,
    pub offer_url_template: &'a str,
    /// When the public set last changed.
    pub updated: DateTime<Utc>,
}

/// RFC 1123 dates, as Indeed's examples use.
fn rfc1123(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The levels asked for, in words (`Master 1, Master 2`), as a reader of a job board expects.
fn education(o: &Offer) -> String {
    o.content
        .education_levels
        .iter()
        .map(|l| education_level_name(l))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Indeed's `jobtype`: an internship, full-time or part-time by its working time.
fn job_type(o: &Offer) -> &'static str {
    if o.content.contract.work_time_percent >= 100 {
        "internship, fulltime"
    } else {
        "internship, parttime"
    }
}

/// Indeed's `remotetype` values, from the offer's remote policy.
fn remote_type(o: &Offer) -> Option<&'static str> {
    match o.content.contract.remote.as_str() {
        "full" => Some("Fully remote"),
        "partial" => Some("Hybrid remote"),
        _ => None,
    }
}

/// The Indeed-style XML feed: `<source>` with one `<job>` per offer, values in CDATA.
pub fn indeed_feed(info: &FeedInfo, offers: &[Offer]) -> String {
    let mut w = XmlWriter::new();
    w.open("source", &[])
        .text("publisher", &[], info.publisher)
        .text(
            "publisherurl",
            &[],
            info.organization_url.unwrap_or(info.base_url),
        )
        .text("lastBuildDate", &[], &rfc1123(info.updated));
    for o in offers {
        let field = |f: fn(&Location) -> &str| f(&o.content.location).to_owned();
        w.open("job", &[])
            .cdata("title", &o.content.title)
            .cdata("date", &rfc1123(o.published_at.unwrap_or(o.updated_at)))
            .cdata("referencenumber", &o.content.reference)
            .cdata("requisitionid", &o.id.to_string())
            .cdata("url", &offer_url(info.offer_url_template, o))
            .cdata("company", &o.content.organization)
            .cdata("sourcename", &o.content.organization)
            .cdata("city", &field(|l| &l.city))
            .cdata(
                "state",
                region(&o.content.location.country, &o.content.location.postal_code)
                    .unwrap_or_default(),
            )
            .cdata("postalcode", &field(|l| &l.postal_code))
            .cdata("country", &field(|l| &l.country))
            .cdata(
                "streetaddress",
                &field(|l| l.street_address.as_deref().unwrap_or("")),
            )
            .cdata("description", &description_html(o))
            .cdata(
                "salary",
                &o.content
                    .contract
                    .hourly_gratification_cents
                    .filter(|_| o.content.contract.paid)
                    .map(|c| format!("{:.2} EUR per hour", f64::from(c) / 100.0))
                    .unwrap_or_default(),
            )
            .cdata("education", &education(o))
            .cdata("jobtype", job_type(o))
            .cdata("category", &o.content.department)
            .cdata(
                "expirationdate",
                &o.content.application_deadline.to_string(),
            );
        if let Some(remote) = remote_type(o) {
            w.cdata("remotetype", remote);
        }
        w.close("job");
    }
    w.close("source");
    w.finish()
}

/// An Atom 1.0 feed (RFC 4287): one entry per offer, its summary as text and its description
/// as escaped HTML.
pub fn atom_feed(info: &FeedInfo, offers: &[Offer]) -> String {
    let self_url = format!("{}/api/v1/feeds/offers.atom", info.base_url);
    let mut w = XmlWriter::new();
    w.open(
        "feed",
        &[("xmlns", "http://www.w3.org/2005/Atom"), ("xml:lang", "fr")],
    )
    .text("id", &[], &self_url)
    .text(
        "title",
        &[("type", "text")],
        &format!("{} — offres de stage", info.publisher),
    )
    .text("updated", &[], &rfc3339(info.updated))
    .empty(
        "link",
        &[
            ("rel", "self"),
            ("type", "application/atom+xml"),
            ("href", &self_url),
        ],
    )
    .empty("link", &[("rel", "alternate"), ("href", info.base_url)])
    .open("author", &[])
    .text("name", &[], info.publisher)
    .close("author")
    .text("generator", &[], "Passerelle");
    for o in offers {
        let url = offer_url(info.offer_url_template, o);
        w.open("entry", &[])
            .text("id", &[], &format!("urn:uuid:{}", o.id))
            .text("title", &[("type", "text")], &o.content.title)
            .text("updated", &[], &rfc3339(o.updated_at))
            .text(
                "published",
                &[],
                &rfc3339(
                    o.first_published_at
                        .or(o.published_at)
                        .unwrap_or(o.updated_at),
                ),
            )
            .empty("link", &[("rel", "alternate"), ("href", &url)])
            .open("author", &[])
            .text("name", &[], &o.content.organization)
            .close("author")
            .empty("category", &[("term", &o.content.department)])
            .text("summary", &[("type", "text")], &o.content.summary)
            .text("content", &[("type", "html")], &description_html(o))
            .close("entry");
    }
    w.close("feed");
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped_and_forbidden_characters_dropped() {
        assert_eq!(
            escape_text("a < b && c > d"),
            "a &lt; b &amp;&amp; c &gt; d"
        );
        assert_eq!(escape_text("bip\u{7}\u{0}ok\u{FFFF}"), "bipok");
        assert_eq!(escape_attr("l'\"x\"\n"), "l&apos;&quot;x&quot;&#10;");
        assert_eq!(escape_text("Coopération – été"), "Coopération – été");
    }

    #[test]
    fn cdata_cannot_be_closed_early() {
        assert_eq!(cdata("a]]>b"), "<![CDATA[a]]]]><![CDATA[>b]]>");
        let wrapped = cdata("x]]>]]><script>");
        // Outside the sections, only `]]>` + `<![CDATA[` pairs remain: no markup escaped.
        let inner = wrapped
            .strip_prefix("<![CDATA[")
            .and_then(|s| s.strip_suffix("]]>"))
            .unwrap();
        let restored: String = inner.split("]]><![CDATA[").collect();
        assert_eq!(restored, "x]]>]]><script>");
    }
}
