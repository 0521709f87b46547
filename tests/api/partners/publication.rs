//! JSON-LD, the Indeed-style XML feed and the Atom feed of the public offers.

use super::*;

#[actix_web::test]
async fn json_ld_can_be_embedded_in_a_script_element() {
    // Front-ends paste this body into <script type="application/ld+json">: no field may
    // close the element (stored XSS on the city's site).
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let evil = "</script><script>alert(document.cookie)</script>";
    let mut offer = open_offer("LD-XSS");
    offer["title"] = json!(format!("Stage {evil}"));
    offer["organization"] = json!(format!("Ville & {evil}"));
    offer["contact"]["name"] = json!(format!("Camille <!-- {evil}"));
    let offer = app.publish_new_offer(&manager, offer).await;
    let res = app
        .get(&format!("/api/v1/offers/{}/jsonld", id_of(&offer)), None)
        .await;
    assert_eq!(res.status, 200);
    let text = String::from_utf8(res.body.clone()).unwrap();
    for bad in ["<", ">", "&"] {
        assert!(!text.contains(bad), "{bad} in {text}");
    }
    assert!(text.contains("\\u003c/script\\u003e"), "{text}");
    let ld = res.json();
    assert_eq!(ld["title"], offer["title"]);
    assert_eq!(ld["title"].as_str().unwrap(), format!("Stage {evil}"));
}

#[actix_web::test]
async fn json_ld_is_a_job_posting_with_what_google_requires() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let offer = app.publish_new_offer(&manager, open_offer("LD-1")).await;
    let id = id_of(&offer);
    let res = app.get(&format!("/api/v1/offers/{id}/jsonld"), None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/ld+json"));
    let ld = res.json();
    assert_eq!(ld["@context"], "https://schema.org/");
    assert_eq!(ld["@type"], "JobPosting");
    assert_eq!(ld["title"], offer["title"]);
    let description = ld["description"].as_str().unwrap();
    assert!(
        description.contains("<h3>Missions</h3><ul><li>Assister la cheffe"),
        "{description}"
    );
    assert!(description.contains("Profil recherch"));
    assert!(description.contains("l'Algérie"));
    assert_eq!(ld["datePosted"], app.state.today().to_string());
    // The last second of the deadline day in Paris, with its offset that day.
    let deadline = OfferDates::now().deadline;
    assert_eq!(
        ld["validThrough"],
        app.state.calendar().last_second(deadline).to_rfc3339()
    );
    assert!(ld["validThrough"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{deadline}T23:59:59+0")));
    assert_eq!(ld["employmentType"], json!(["INTERN", "FULL_TIME"]));
    assert_eq!(ld["hiringOrganization"]["@type"], "Organization");
    assert_eq!(ld["hiringOrganization"]["name"], "Ville de Grenoble");
    let address = &ld["jobLocation"]["address"];
    assert_eq!(ld["jobLocation"]["@type"], "Place");
    assert_eq!(address["@type"], "PostalAddress");
    assert_eq!(address["addressCountry"], "FR");
    assert_eq!(address["addressLocality"], "Grenoble");
    assert_eq!(address["postalCode"], "38000");
    assert_eq!(address["streetAddress"], "2 Passage du Palais de justice");
    assert_eq!(ld["baseSalary"]["currency"], "EUR");
    assert_eq!(ld["baseSalary"]["value"]["value"], 4.5);
    assert_eq!(ld["baseSalary"]["value"]["unitText"], "HOUR");
    assert_eq!(ld["identifier"]["value"], "LD-1");
    assert_eq!(ld["directApply"], true);
    assert_eq!(
        ld["jobStartDate"],
        OfferDates::now().starts_from.to_string()
    );
    assert_eq!(
        ld["educationRequirements"],
        json!([{"@type": "EducationalOccupationalCredential", "credentialCategory": "postgraduate degree"}])
    );
    assert_eq!(
        ld["applicationContact"]["email"],
        "mathilde.lestra@grenoble.example"
    );
    assert!(ld["url"]
        .as_str()
        .unwrap()
        .ends_with(offer["slug"].as_str().unwrap()));

    // Cacheable; by slug too.
    let etag = res.header("etag").unwrap().to_owned();
    let again = app
        .send(
            actix_test::TestRequest::get()
                .uri(&format!("/api/v1/offers/{id}/jsonld"))
                .insert_header(("If-None-Match", etag)),
        )
        .await;
    assert_eq!(again.status, 304);
    let by_slug = app
        .get(
            &format!("/api/v1/offers/{}/jsonld", offer["slug"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(by_slug.json()["identifier"], ld["identifier"]);

    // Closed: no longer claims to be open.
    app.clock.advance(chrono::Duration::minutes(5));
    move_offer(&app, &manager, &id, "close").await;
    app.clock.advance(chrono::Duration::minutes(1));
    let closed = app
        .get(&format!("/api/v1/offers/{id}/jsonld"), None)
        .await
        .json();
    assert_eq!(closed["directApply"], false);
    let valid_through: DateTime<Utc> = closed["validThrough"].as_str().unwrap().parse().unwrap();
    assert!(valid_through < app.state.now(), "{valid_through}");

    // Drafts, archived and unknown offers are 404 problems.
    let (draft, _) = app.create_offer(&manager, open_offer("LD-DRAFT")).await;
    app.get(&format!("/api/v1/offers/{}/jsonld", id_of(&draft)), None)
        .await
        .assert_problem(404, "not_found");
    move_offer(&app, &manager, &id, "archive").await;
    app.get(&format!("/api/v1/offers/{id}/jsonld"), None)
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/offers/nothing-here/jsonld", None)
        .await
        .assert_problem(404, "not_found");
}

/// A small XML 1.0 well-formedness checker: elements nest and close, attributes are quoted
/// and unique, entity references are the predefined or numeric ones, CDATA sections close,
/// one root element. Enough to refuse what a broken escaper would produce.
mod xml {
    #[derive(Debug)]
    pub struct Element {
        pub name: String,
        pub attrs: Vec<(String, String)>,
        pub children: Vec<Node>,
    }

    #[derive(Debug)]
    pub enum Node {
        Element(Element),
        Text(String),
    }

    impl Element {
        pub fn all(&self, name: &str) -> Vec<&Element> {
            self.children
                .iter()
                .filter_map(|n| match n {
                    Node::Element(e) if e.name == name => Some(e),
                    _ => None,
                })
                .collect()
        }
        pub fn child(&self, name: &str) -> &Element {
            let found = self.all(name);
            assert_eq!(
                found.len(),
                1,
                "<{}> has {} <{name}>",
                self.name,
                found.len()
            );
            found[0]
        }
        pub fn text(&self) -> String {
            self.children
                .iter()
                .map(|n| match n {
                    Node::Text(t) => t.clone(),
                    Node::Element(_) => String::new(),
                })
                .collect()
        }
        pub fn attr(&self, name: &str) -> Option<&str> {
            self.attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        }
    }

    struct Parser<'a> {
        s: &'a str,
        i: usize,
    }

    pub fn parse(doc: &str) -> Result<Element, String> {
        let mut p = Parser { s: doc, i: 0 };
        if p.rest().starts_with("<?xml") {
            let end = p.rest().find("?>").ok_or("unterminated XML declaration")?;
            p.i += end + 2;
        }
        p.skip_ws();
        let root = p.element()?;
        p.skip_ws();
        if p.i != p.s.len() {
            return Err(format!(
                "content after the root element: {:?}",
                &p.rest()[..p.rest().len().min(40)]
            ));
        }
        Ok(root)
    }

    fn decode(raw: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = raw;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let semi = rest[amp..].find(';').ok_or("bare &")? + amp;
            let name = &rest[amp + 1..semi];
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                n if n.starts_with("#x") => u32::from_str_radix(&n[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or("bad char ref")?,
                n if n.starts_with('#') => n[1..]
                    .parse()
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or("bad char ref")?,
                other => return Err(format!("unknown entity &{other};")),
            };
            out.push(c);
            rest = &rest[semi + 1..];
        }
        out.push_str(rest);
        if out
            .chars()
            .any(|c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err("a character XML forbids".into());
        }
        Ok(out)
    }

    impl Parser<'_> {
        fn rest(&self) -> &str {
            &self.s[self.i..]
        }
        fn skip_ws(&mut self) {
            let trimmed = self.rest().trim_start();
            self.i = self.s.len() - trimmed.len();
        }
        fn eat(&mut self, token: &str) -> Result<(), String> {
            if self.rest().starts_with(token) {
                self.i += token.len();
                Ok(())
            } else {
                Err(format!(
                    "expected {token:?} at {:?}",
                    &self.rest()[..self.rest().len().min(40)]
                ))
            }
        }
        fn name(&mut self) -> Result<String, String> {
            let len = self
                .rest()
                .find(|c: char| !(c.is_alphanumeric() || matches!(c, ':' | '-' | '_' | '.')))
                .unwrap_or(self.rest().len());
            if len == 0
                || self
                    .rest()
                    .starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
            {
                return Err(format!(
                    "bad name at {:?}",
                    &self.rest()[..self.rest().len().min(40)]
                ));
            }
            let name = self.rest()[..len].to_owned();
            self.i += len;
            Ok(name)
        }
        fn element(&mut self) -> Result<Element, String> {
            self.eat("<")?;
            let name = self.name()?;
            let mut attrs: Vec<(String, String)> = Vec::new();
            loop {
                let before = self.i;
                self.skip_ws();
                if self.rest().starts_with("/>") {
                    self.i += 2;
                    return Ok(Element {
                        name,
                        attrs,
                        children: vec![],
                    });
                }
                if self.rest().starts_with('>') {
                    self.i += 1;
                    break;
                }
                if before == self.i {
                    return Err(format!("no space before an attribute of <{name}>"));
                }
                let key = self.name()?;
                self.skip_ws();
                self.eat("=")?;
                self.skip_ws();
                let quote = self.rest().chars().next().ok_or("eof")?;
                if quote != '"' && quote != '\'' {
                    return Err("unquoted attribute".into());
                }
                self.i += 1;
                let end = self.rest().find(quote).ok_or("unterminated attribute")?;
                let raw = &self.rest()[..end];
                if raw.contains('<') {
                    return Err("< in an attribute".into());
                }
                let value = decode(raw)?;
                self.i += end + 1;
                if attrs.iter().any(|(k, _)| *k == key) {
                    return Err(format!("duplicate attribute {key}"));
                }
                attrs.push((key, value));
            }
            let mut children = Vec::new();
            loop {
                if self.rest().is_empty() {
                    return Err(format!("<{name}> is not closed"));
                }
                if self.rest().starts_with("</") {
                    self.i += 2;
                    let closing = self.name()?;
                    self.skip_ws();
                    self.eat(">")?;
                    if closing != name {
                        return Err(format!("<{name}> closed by </{closing}>"));
                    }
                    return Ok(Element {
                        name,
                        attrs,
                        children,
                    });
                }
                if self.rest().starts_with("<![CDATA[") {
                    self.i += 9;
                    let end = self.rest().find("]]>").ok_or("unterminated CDATA")?;
                    children.push(Node::Text(self.rest()[..end].to_owned()));
                    self.i += end + 3;
                } else if self.rest().starts_with("<!--") {
                    let end = self.rest().find("-->").ok_or("unterminated comment")?;
                    self.i += end + 3;
                } else if self.rest().starts_with("<?") || self.rest().starts_with("<!") {
                    return Err("unexpected markup declaration".into());
                } else if self.rest().starts_with('<') {
                    children.push(Node::Element(self.element()?));
                } else {
                    let end = self.rest().find('<').unwrap_or(self.rest().len());
                    let raw = &self.rest()[..end];
                    if raw.contains("]]>") {
                        return Err("]]> in character data".into());
                    }
                    children.push(Node::Text(decode(raw)?));
                    self.i += end;
                }
            }
        }
    }

    #[test]
    fn the_checker_refuses_broken_documents() {
        for bad in [
            "<a><b></a></b>",
            "<a>x & y</a>",
            "<a b=c/>",
            "<a><![CDATA[x]]>]]></a>",
            "<a></a><b/>",
            "<a>&nbsp;</a>",
            "<a x='1' x='2'/>",
            "<a>\u{1}</a>",
        ] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
        let ok = parse("<?xml version=\"1.0\"?>\n<a k=\"&quot;\"><b><![CDATA[x]]]]><![CDATA[>y]]></b>&#233;</a>").unwrap();
        assert_eq!(ok.child("b").text(), "x]]>y");
        assert_eq!(ok.text(), "é");
        assert_eq!(ok.attr("k"), Some("\""));
    }
}

/// An offer whose text tries to break the feeds: `]]>`, markup, ampersands, quotes.
fn hostile_offer(reference: &str) -> Value {
    let mut o = open_offer(reference);
    o["title"] = json!("Stage ]]> <script>alert(1)</script> & « guillemets »");
    o["summary"] = json!("Un résumé avec ]]> au milieu, des <balises> et des \"guillemets\" & co.");
    o["missions"] = json!(["Première mission ]]]]> et ]]>", "Deuxième mission"]);
    o
}

async fn feed_setup() -> (TestApp, String, Vec<Value>) {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let hostile = app
        .publish_new_offer(&manager, hostile_offer("XML-1"))
        .await;
    let plain = app.publish_new_offer(&manager, open_offer("XML-2")).await;
    app.create_offer(&manager, open_offer("XML-DRAFT")).await;
    (app, manager, vec![hostile, plain])
}

#[actix_web::test]
async fn part_time_and_hybrid_reach_the_xml_feed_and_the_employer_its_site_and_logo() {
    let app = TestApp::with_settings(|s| {
        s.partners.organization_url = Some("https://www.grenoble.example".into());
        s.partners.organization_logo_url = Some("https://www.grenoble.example/logo.png".into());
    })
    .await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let mut offer = open_offer("XML-PT");
    offer["contract"]["work_time_percent"] = json!(60);
    offer["contract"]["remote"] = json!("partial");
    let offer = app.publish_new_offer(&manager, offer).await;
    let text = String::from_utf8(app.get("/api/v1/feeds/offers.xml", None).await.body).unwrap();
    let root = xml::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        root.child("publisherurl").text(),
        "https://www.grenoble.example"
    );
    let job = &root.all("job")[0];
    assert_eq!(job.child("jobtype").text(), "internship, parttime");
    assert_eq!(job.child("remotetype").text(), "Hybrid remote");
    let ld = app
        .get(&format!("/api/v1/offers/{}/jsonld", id_of(&offer)), None)
        .await
        .json();
    let employer = &ld["hiringOrganization"];
    assert_eq!(employer["sameAs"], "https://www.grenoble.example");
    assert_eq!(employer["logo"], "https://www.grenoble.example/logo.png");
    assert_eq!(
        ld["jobLocation"]["address"]["addressRegion"],
        "Auvergne-Rhône-Alpes"
    );
    assert_eq!(ld["employmentType"], json!(["INTERN", "PART_TIME"]));
    // What is written is what the spec documents: every key known, every required key there.
    let spec: Value = serde_json::from_str(&passerelle::openapi::document_json()).unwrap();
    let documented = &spec["components"]["schemas"]["JobPosting"];
    for key in ld.as_object().unwrap().keys() {
        assert!(
            documented["properties"].get(key).is_some(),
            "{key} undocumented"
        );
    }
    for key in documented["required"].as_array().unwrap() {
        assert!(
            ld.get(key.as_str().unwrap()).is_some(),
            "{key} required, not written"
        );
    }
}

#[actix_web::test]
async fn the_xml_feed_is_well_formed_and_cdata_cannot_be_broken() {
    let (app, manager, offers) = feed_setup().await;
    let res = app.get("/api/v1/feeds/offers.xml", None).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type"),
        Some("application/xml; charset=utf-8")
    );
    let text = String::from_utf8(res.body.clone()).unwrap();
    let root = xml::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(root.name, "source");
    assert_eq!(root.child("publisher").text(), "Passerelle");
    let jobs = root.all("job");
    assert_eq!(jobs.len(), 2, "the draft is not in the feed");
    let hostile = jobs
        .iter()
        .find(|j| j.child("referencenumber").text() == "XML-1")
        .unwrap();
    assert_eq!(
        hostile.child("title").text(),
        offers[0]["title"].as_str().unwrap()
    );
    assert!(hostile
        .child("description")
        .text()
        .contains("Un résumé avec ]]&gt; au milieu"));
    assert!(hostile
        .child("description")
        .text()
        .contains("<li>Première mission ]]]]&gt; et ]]&gt;</li>"));
    for job in &jobs {
        for field in [
            "title",
            "date",
            "referencenumber",
            "url",
            "company",
            "city",
            "country",
            "description",
            "expirationdate",
        ] {
            assert!(!job.child(field).text().is_empty(), "{field} empty");
        }
        assert_eq!(job.child("jobtype").text(), "internship, fulltime");
        assert_eq!(job.child("state").text(), "Auvergne-Rhône-Alpes");
        assert_eq!(job.child("education").text(), "Master 1, Master 2");
        assert_eq!(job.child("sourcename").text(), "Ville de Grenoble");
        assert_eq!(job.child("category").text(), "Direction Ville Ouverte");
        assert_eq!(job.child("company").text(), "Ville de Grenoble");
        assert_eq!(job.child("city").text(), "Grenoble");
        assert_eq!(job.child("country").text(), "FR");
        assert_eq!(
            job.child("expirationdate").text(),
            OfferDates::now().deadline.to_string()
        );
        assert!(job.child("date").text().ends_with(" GMT"));
        assert!(job
            .child("url")
            .text()
            .starts_with("http://localhost:8080/"));
    }

    // Cacheable: ETag and Last-Modified, 304 on either, 200 again after a change.
    let etag = res.header("etag").unwrap().to_owned();
    let modified = res.header("last-modified").unwrap().to_owned();
    let conditional = |name: &'static str, value: String| {
        actix_test::TestRequest::get()
            .uri("/api/v1/feeds/offers.xml")
            .insert_header((name, value))
    };
    assert_eq!(
        app.send(conditional("If-None-Match", etag.clone()))
            .await
            .status,
        304
    );
    assert_eq!(
        app.send(conditional("If-Modified-Since", modified.clone()))
            .await
            .status,
        304
    );
    app.clock.advance(chrono::Duration::seconds(5));
    move_offer(&app, &manager, &id_of(&offers[1]), "close").await;
    let changed = app.send(conditional("If-None-Match", etag)).await;
    assert_eq!(changed.status, 200);
    assert_eq!(
        xml::parse(std::str::from_utf8(&changed.body).unwrap())
            .unwrap()
            .all("job")
            .len(),
        1
    );
    assert_eq!(
        app.send(conditional("If-Modified-Since", modified))
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn the_atom_feed_is_valid_atom_1_0() {
    let (app, _, offers) = feed_setup().await;
    let res = app.get("/api/v1/feeds/offers.atom", None).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    let text = String::from_utf8(res.body.clone()).unwrap();
    let feed = xml::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    // RFC 4287 section 4.1.1: atom:id, atom:title, atom:updated once; an author; a self link.
    assert_eq!(feed.name, "feed");
    assert_eq!(feed.attr("xmlns"), Some("http://www.w3.org/2005/Atom"));
    assert!(feed.child("id").text().starts_with("http"));
    assert!(!feed.child("title").text().is_empty());
    DateTime::parse_from_rfc3339(&feed.child("updated").text()).unwrap();
    assert!(!feed.child("author").child("name").text().is_empty());
    let links = feed.all("link");
    assert!(links.iter().any(|l| l.attr("rel") == Some("self")
        && l.attr("href").unwrap().ends_with("/feeds/offers.atom")));
    let entries = feed.all("entry");
    assert_eq!(entries.len(), 2);
    let mut ids = Vec::new();
    for e in &entries {
        // Section 4.1.2: id, title, updated once each; a link rel=alternate (no content src).
        let id = e.child("id").text();
        assert!(id.starts_with("urn:uuid:"), "{id}");
        ids.push(id);
        assert!(!e.child("title").text().is_empty());
        DateTime::parse_from_rfc3339(&e.child("updated").text()).unwrap();
        DateTime::parse_from_rfc3339(&e.child("published").text()).unwrap();
        assert!(e
            .all("link")
            .iter()
            .any(|l| l.attr("rel") == Some("alternate") && l.attr("href").is_some()));
        assert_eq!(e.child("content").attr("type"), Some("html"));
        assert_eq!(e.child("summary").attr("type"), Some("text"));
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2);
    let hostile = entries
        .iter()
        .find(|e| e.child("id").text() == format!("urn:uuid:{}", id_of(&offers[0])))
        .unwrap();
    assert_eq!(
        hostile.child("title").text(),
        offers[0]["title"].as_str().unwrap()
    );
    assert!(hostile
        .child("content")
        .text()
        .contains("<li>Première mission ]]]]&gt; et ]]&gt;</li>"));

    let etag = res.header("etag").unwrap().to_owned();
    assert!(res.header("last-modified").is_some());
    let again = app
        .send(
            actix_test::TestRequest::get()
                .uri("/api/v1/feeds/offers.atom")
                .insert_header(("If-None-Match", etag)),
        )
        .await;
    assert_eq!(again.status, 304);
}

// --- webhooks -------------------------------------------------------------------------------
