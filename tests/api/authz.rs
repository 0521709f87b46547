//! The authorization matrix (issue 7, "Abuse"): every operation of openapi/openapi.json, called
//! by every kind of caller, gets exactly the documented answer.
//!
//! The table [`MATRIX`] is the policy, one line per operation. Columns, in order:
//!
//! ```text
//!  anonymous, candidate (tracking token), partner (API key)
//!  reviewer on an offer assigned to them, the same reviewer on an offer not assigned to them
//!  manager, admin
//! ```
//!
//! Letters: `A` allowed (a 2xx), `U` unauthenticated (401 + `WWW-Authenticate: Bearer`),
//! `F` forbidden (403), `H` hidden (404, the very answer an id that does not exist gets).
//! Every status must be one the spec lists for the operation; 401/403/404 bodies must be
//! problem+json and say nothing of the object. An operation in the spec without a line, or a
//! line without an operation, fails [`the_matrix_has_one_line_per_operation_of_the_spec`].

use crate::{
    applications::{candidate_fields, multipart, pdfs},
    support::{open_offer, Staff, TestApp, TestResponse, PASSWORD},
};
use actix_web::{http::Method, test::TestRequest};
use passerelle::auth::Role;
use serde_json::{json, Value};
use std::{
    cell::Cell,
    collections::{BTreeMap, BTreeSet},
};
use uuid::Uuid;

/// How the request of a line is made: which objects fill the path, what body it sends.
/// Destructive operations get objects of their own, made for each call.
#[derive(Debug, Clone, Copy)]
enum Setup {
    /// The shared world's objects, no body.
    Plain,
    /// `{email, password}` of an account kept for this.
    Login,
    /// A refresh token of a new session.
    Refresh,
    /// Staff callers use a second session of their account, which the call may end.
    NewSession,
    /// Staff callers use a new account of their role, whose password the call may change.
    NewAccount,
    /// A multipart application with an email of its own.
    Apply,
    /// A correction of the candidate's phone number.
    Correction,
    /// A new application; the candidate column uses its tracking token.
    NewApplication,
    /// A new application whose candidate asked for a new email: the code mailed to it.
    EmailCode,
    /// A new offer (a reference of its own).
    NewOffer,
    /// The offer's own content again, with its current ETag.
    ReplaceOffer,
    /// An empty merge patch, with the offer's current ETag.
    PatchOffer,
    /// A new draft (assigned to the reviewer, except in the "elsewhere" column), with its ETag.
    Draft,
    /// A new published offer, likewise.
    Published,
    /// A new closed offer, likewise.
    Closed,
    /// A new draft submitted for approval by a manager of the world, likewise.
    Submitted,
    /// A new draft submitted and approved, likewise.
    Approved,
    /// A new approved draft with a publication time an hour ahead, likewise.
    Scheduled,
    /// An approved draft, likewise, and a `publish_at` a day ahead.
    Schedule,
    /// A submitted draft, likewise, and a rejection's `reason`.
    Reject,
    /// A new reviewer to assign.
    NewReviewer,
    /// A new reviewer already assigned, to unassign.
    Assigned,
    /// A new scorecard for a new offer.
    Criteria,
    /// `{"blind": false}`, as it already is.
    ReviewSettings,
    /// A review scoring every criterion.
    Review,
    /// A new application, on which to declare a conflict.
    Conflict,
    /// A new application moved to the next stage, with its ETag.
    Transition,
    /// A new staff account's fields.
    NewUser,
    /// A new name for an account kept for this.
    RenameUser,
    /// A new partner's fields.
    NewPartner,
    /// A new name for the partner.
    RenamePartner,
    /// A key rotation of a partner kept for this.
    RotateKey,
    /// A new webhook URL.
    NewWebhook,
    /// `{"active": true}` for the partner's webhook.
    EnableWebhook,
    /// A new webhook, to delete.
    OwnWebhook,
}
use Setup::*;

/// The policy. Columns: anonymous, candidate, partner | reviewer here, elsewhere | manager, admin.
#[rustfmt::skip]
const MATRIX: &[(&str, &str, Setup)] = &[
    // Staff authentication
    ("POST /api/v1/auth/login",                                      "AAA AA AA", Login),
    ("POST /api/v1/auth/refresh",                                    "AAA AA AA", Refresh),
    ("POST /api/v1/auth/logout",                                     "UUU AA AA", NewSession),
    ("GET /api/v1/auth/me",                                          "UUU AA AA", Plain),
    ("POST /api/v1/auth/password",                                   "UUU AA AA", NewAccount),
    // Public site, feeds, operations
    ("GET /api/v1/offers",                                           "AAA AA AA", Plain),
    ("GET /api/v1/offers/{id_or_slug}",                              "AAA AA AA", Plain),
    ("GET /api/v1/offers/{id}/jsonld",                               "AAA AA AA", Plain),
    ("POST /api/v1/offers/{id_or_slug}/applications",                "AAA AA AA", Apply),
    ("GET /api/v1/feeds/offers.xml",                                 "AAA AA AA", Plain),
    ("GET /api/v1/feeds/offers.atom",                                "AAA AA AA", Plain),
    ("GET /health/live",                                             "AAA AA AA", Plain),
    ("GET /health/ready",                                            "AAA AA AA", Plain),
    ("GET /metrics",                                                 "AAA AA AA", Plain),
    // Candidate self-service: the tracking token, and nothing else
    ("GET /api/v1/candidate/application",                            "UAU UU UU", Plain),
    ("PATCH /api/v1/candidate/application",                          "UAU UU UU", Correction),
    ("POST /api/v1/candidate/application/email/confirm",             "UAU UU UU", EmailCode),
    ("GET /api/v1/candidate/application/export",                     "UAU UU UU", Plain),
    ("POST /api/v1/candidate/application/withdraw",                  "UAU UU UU", NewApplication),
    ("DELETE /api/v1/candidate/application",                         "UAU UU UU", NewApplication),
    // Partners: the API key, and nothing else
    ("GET /api/v1/partner/offers",                                   "UUA UU UU", Plain),
    ("GET /api/v1/partner/offers/changes",                           "UUA UU UU", Plain),
    // Staff offers: reviewers read what is assigned to them, write nothing
    ("GET /api/v1/staff/offers",                                     "UUU AA AA", Plain),
    ("POST /api/v1/staff/offers",                                    "UUU FF AA", NewOffer),
    ("GET /api/v1/staff/offers/{id}",                                "UUU AH AA", Plain),
    ("PUT /api/v1/staff/offers/{id}",                                "UUU FH AA", ReplaceOffer),
    ("PATCH /api/v1/staff/offers/{id}",                              "UUU FH AA", PatchOffer),
    ("DELETE /api/v1/staff/offers/{id}",                             "UUU FH AA", Draft),
    ("POST /api/v1/staff/offers/{id}/publish",                       "UUU FH AA", Approved),
    ("POST /api/v1/staff/offers/{id}/close",                         "UUU FH AA", Published),
    ("POST /api/v1/staff/offers/{id}/archive",                       "UUU FH AA", Closed),
    ("POST /api/v1/staff/offers/{id}/reopen",                        "UUU FH AA", Closed),
    // The calendar and the four-eyes approval (the world runs with PUBLICATION_APPROVAL=required)
    ("POST /api/v1/staff/offers/{id}/submit",                        "UUU FH AA", Draft),
    ("POST /api/v1/staff/offers/{id}/approve",                       "UUU FH AA", Submitted),
    ("POST /api/v1/staff/offers/{id}/reject",                        "UUU FH AA", Reject),
    ("POST /api/v1/staff/offers/{id}/schedule",                      "UUU FH AA", Schedule),
    ("DELETE /api/v1/staff/offers/{id}/schedule",                    "UUU FH AA", Scheduled),
    ("GET /api/v1/staff/offers/{id}/history",                        "UUU AH AA", Plain),
    // Staff applications: reviewers read those of their offers, move none, export none
    ("GET /api/v1/staff/offers/{id}/applications",                   "UUU AH AA", Plain),
    ("GET /api/v1/staff/offers/{id}/applications/export.csv",        "UUU FH AA", Plain),
    ("GET /api/v1/staff/applications/{id}",                          "UUU AH AA", Plain),
    ("GET /api/v1/staff/applications/{id}/documents/{document_id}",  "UUU AH AA", Plain),
    ("GET /api/v1/staff/applications/{id}/history",                  "UUU AH AA", Plain),
    ("POST /api/v1/staff/applications/{id}/transition",              "UUU FH AA", Transition),
    // Reviews: only assigned reviewers review (admins and managers are not, here)
    ("GET /api/v1/staff/offers/{id}/reviewers",                      "UUU FH AA", Plain),
    ("POST /api/v1/staff/offers/{id}/reviewers",                     "UUU FF AA", NewReviewer),
    ("DELETE /api/v1/staff/offers/{id}/reviewers/{reviewer_id}",     "UUU FH AA", Assigned),
    ("GET /api/v1/staff/offers/{id}/criteria",                       "UUU AH AA", Plain),
    ("PUT /api/v1/staff/offers/{id}/criteria",                       "UUU FH AA", Criteria),
    ("GET /api/v1/staff/offers/{id}/review-settings",                "UUU AH AA", Plain),
    ("PUT /api/v1/staff/offers/{id}/review-settings",                "UUU FH AA", ReviewSettings),
    ("GET /api/v1/staff/applications/{id}/reviews",                  "UUU AH AA", Plain),
    ("PUT /api/v1/staff/applications/{id}/reviews/me",               "UUU AH FF", Review),
    ("POST /api/v1/staff/applications/{id}/conflict",                "UUU AH FF", Conflict),
    ("GET /api/v1/staff/reviewers",                                  "UUU FF AA", Plain),
    ("GET /api/v1/staff/attribution",                                "UUU FF AA", Plain),
    // Admin only: staff accounts, partners
    ("GET /api/v1/staff/audit",                                      "UUU FF FA", Plain),
    ("GET /api/v1/staff/users",                                      "UUU FF FA", Plain),
    ("POST /api/v1/staff/users",                                     "UUU FF FA", NewUser),
    ("GET /api/v1/staff/users/{id}",                                 "UUU FF FA", Plain),
    ("PATCH /api/v1/staff/users/{id}",                               "UUU FF FA", RenameUser),
    ("GET /api/v1/staff/partners",                                   "UUU FF FA", Plain),
    ("POST /api/v1/staff/partners",                                  "UUU FF FA", NewPartner),
    ("GET /api/v1/staff/partners/{id}",                              "UUU FF FA", Plain),
    ("PATCH /api/v1/staff/partners/{id}",                            "UUU FF FA", RenamePartner),
    ("POST /api/v1/staff/partners/{id}/keys",                        "UUU FF FA", RotateKey),
    ("GET /api/v1/staff/partners/{id}/deliveries",                   "UUU FF FA", Plain),
    ("GET /api/v1/staff/partners/{id}/webhooks",                     "UUU FF FA", Plain),
    ("POST /api/v1/staff/partners/{id}/webhooks",                    "UUU FF FA", NewWebhook),
    ("PATCH /api/v1/staff/partners/{id}/webhooks/{webhook_id}",      "UUU FF FA", EnableWebhook),
    ("DELETE /api/v1/staff/partners/{id}/webhooks/{webhook_id}",     "UUU FF FA", OwnWebhook),
];

/// Documented 403s that no caller kind produces, because they are not about who calls.
const OTHER_403S: &[&str] = &[
    // The current password is wrong.
    "POST /api/v1/auth/password",
    // The offer is reviewed blind: see `blind_review_keeps_documents_from_reviewers`.
    "GET /api/v1/staff/applications/{id}/documents/{document_id}",
    // The caller submitted the offer themselves: see
    // `calendar::publication_needs_a_second_person_when_approval_is_required`.
    "POST /api/v1/staff/offers/{id}/approve",
    "POST /api/v1/staff/offers/{id}/reject",
    // A peer outside METRICS_ALLOW_NETWORKS (tests run with METRICS_ACCESS=public): see
    // `metrics::by_default_metrics_are_refused_outside_the_allowed_networks`.
    "GET /metrics",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Candidate,
    Partner,
    Reviewer,
    ReviewerElsewhere,
    Manager,
    Admin,
}

const CALLERS: [Caller; 7] = [
    Caller::Anonymous,
    Caller::Candidate,
    Caller::Partner,
    Caller::Reviewer,
    Caller::ReviewerElsewhere,
    Caller::Manager,
    Caller::Admin,
];

impl Caller {
    fn role(self) -> Option<Role> {
        match self {
            Caller::Reviewer | Caller::ReviewerElsewhere => Some(Role::Reviewer),
            Caller::Manager => Some(Role::Manager),
            Caller::Admin => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Unauthenticated,
    Forbidden,
    Hidden,
}

fn expectations(letters: &str) -> Vec<Expect> {
    letters
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            'A' => Expect::Allowed,
            'U' => Expect::Unauthenticated,
            'F' => Expect::Forbidden,
            'H' => Expect::Hidden,
            other => panic!("unknown letter {other:?} in the matrix"),
        })
        .collect()
}

/// Every `METHOD /path` of the committed spec, with the statuses it documents.
fn spec_operations() -> BTreeMap<String, BTreeSet<u16>> {
    let raw = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
        .expect("openapi/openapi.json");
    let doc: Value = serde_json::from_str(&raw).expect("the spec is JSON");
    let mut ops = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if !["get", "put", "post", "delete", "patch", "head", "options"]
                .contains(&method.as_str())
            {
                continue;
            }
            let statuses = op["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .map(|s| s.parse().expect("numeric status"))
                .collect();
            ops.insert(format!("{} {path}", method.to_uppercase()), statuses);
        }
    }
    ops
}

#[test]
fn the_matrix_has_one_line_per_operation_of_the_spec() {
    let spec: BTreeSet<String> = spec_operations().into_keys().collect();
    let mut lines = BTreeSet::new();
    for (op, letters, _) in MATRIX {
        assert!(lines.insert(op.to_string()), "{op} has two lines");
        assert_eq!(
            expectations(letters).len(),
            CALLERS.len(),
            "{op}: one letter per caller"
        );
    }
    let missing: Vec<_> = spec.difference(&lines).collect();
    let unknown: Vec<_> = lines.difference(&spec).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "operations of openapi/openapi.json without a line in the authorization matrix: \
         {missing:?}; lines of the matrix for operations the spec lacks: {unknown:?}"
    );
}

// --- the world the matrix runs in ----------------------------------------------------------

/// The objects a path is filled with.
#[derive(Debug, Clone, Default)]
struct Target {
    offer: String,
    application: String,
    document: String,
    reviewer: String,
    partner: String,
    webhook: String,
    user: String,
}

impl Target {
    fn fill(&self, path: &str) -> String {
        let id = if path.starts_with("/api/v1/staff/applications/") {
            &self.application
        } else if path.starts_with("/api/v1/staff/partners/") {
            &self.partner
        } else if path.starts_with("/api/v1/staff/users/") {
            &self.user
        } else {
            &self.offer
        };
        path.replace("{id_or_slug}", &self.offer)
            .replace("{document_id}", &self.document)
            .replace("{reviewer_id}", &self.reviewer)
            .replace("{webhook_id}", &self.webhook)
            .replace("{id}", id)
    }

    fn ids(&self) -> Vec<&str> {
        [
            &self.offer,
            &self.application,
            &self.document,
            &self.reviewer,
            &self.partner,
            &self.webhook,
            &self.user,
        ]
        .into_iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect()
    }
}

enum Body {
    Empty,
    Json(Value),
    Multipart(Vec<u8>),
}

/// One call of the matrix, before the caller's credentials.
struct Call {
    target: Target,
    body: Body,
    if_match: Option<String>,
    /// Credentials of this call instead of the caller's usual ones.
    token: Option<String>,
}

impl Call {
    fn on(target: &Target) -> Call {
        Call {
            target: target.clone(),
            body: Body::Empty,
            if_match: None,
            token: None,
        }
    }

    fn json(mut self, body: Value) -> Call {
        self.body = Body::Json(body);
        self
    }

    fn if_match(mut self, etag: String) -> Call {
        self.if_match = Some(etag);
        self
    }
}

/// Same boundary as `applications::multipart`.
const BOUNDARY: &str = "----passerelle-test-boundary";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd)]
enum Stage {
    Draft,
    Submitted,
    Approved,
    Scheduled,
    Published,
    Closed,
}

struct World {
    app: TestApp,
    admin: (Staff, String),
    manager: (Staff, String),
    reviewer: (Staff, String),
    /// A manager who submits the world's drafts, so that the manager and the admin columns
    /// may approve them.
    submitter: (Staff, String),
    /// An account for the login and refresh lines.
    login: Staff,
    candidate_token: String,
    partner_key: String,
    /// A partner whose keys the rotation line may replace.
    spare_partner: String,
    /// What the reviewer is assigned to...
    here: Target,
    /// ...and what they are not (another reviewer is).
    elsewhere: Target,
    /// Personal data of the world's candidates, which no refusal may show.
    secrets: Vec<String>,
    seq: Cell<u32>,
}

impl World {
    fn admin(&self) -> &str {
        &self.admin.1
    }

    fn next(&self) -> u32 {
        let n = self.seq.get() + 1;
        self.seq.set(n);
        n
    }

    async fn etag(&self, path: &str) -> String {
        let res = self.app.get(path, Some(self.admin())).await;
        assert_eq!(res.status, 200, "GET {path}: {}", text(&res));
        res.header("etag").expect("an ETag").to_owned()
    }

    async fn assign(&self, offer: &str, reviewer: uuid::Uuid) {
        let res = self
            .app
            .post_json(
                &format!("/api/v1/staff/offers/{offer}/reviewers"),
                Some(self.admin()),
                json!({ "reviewer_id": reviewer }),
            )
            .await;
        assert_eq!(res.status, 201, "assign: {}", text(&res));
    }

    /// A new offer at `stage`, assigned to the reviewer when `assigned`; its id and ETag.
    async fn offer(&self, stage: Stage, assigned: bool) -> (String, String) {
        let reference = format!("VDG-AUTHZ-{}", self.next());
        let (created, _) = self
            .app
            .create_offer(self.admin(), open_offer(&reference))
            .await;
        let id = created["id"].as_str().unwrap().to_owned();
        let in_an_hour = self.app.state.now() + chrono::TimeDelta::hours(1);
        for (to, step, who, body) in [
            (Stage::Submitted, "submit", &self.submitter.1, json!({})),
            (Stage::Approved, "approve", &self.admin.1, json!({})),
            (
                Stage::Scheduled,
                "schedule",
                &self.admin.1,
                json!({ "publish_at": in_an_hour }),
            ),
            (Stage::Published, "publish", &self.admin.1, json!({})),
            (Stage::Closed, "close", &self.admin.1, json!({})),
        ] {
            if stage >= to {
                let path = format!("/api/v1/staff/offers/{id}");
                let etag = self.etag(&path).await;
                let res = self
                    .app
                    .post_if_match(&format!("{path}/{step}"), who, &etag, body)
                    .await;
                assert_eq!(res.status, 200, "{step}: {}", text(&res));
            }
        }
        if assigned {
            self.assign(&id, self.reviewer.0.id).await;
        }
        let etag = self.etag(&format!("/api/v1/staff/offers/{id}")).await;
        (id, etag)
    }

    /// A new application to `offer`; its id and tracking token.
    async fn application(&self, offer: &str) -> (String, String) {
        let email = format!("candidate.{}@exemple.fr", self.next());
        let res = self
            .app
            .apply_with(offer, &candidate_fields(&email), &pdfs(), None)
            .await;
        assert_eq!(res.status, 201, "apply: {}", text(&res));
        let body = res.json();
        (
            body["application"]["id"].as_str().unwrap().to_owned(),
            body["tracking_token"].as_str().unwrap().to_owned(),
        )
    }

    async fn first_document(&self, application: &str) -> String {
        let res = self
            .app
            .get(
                &format!("/api/v1/staff/applications/{application}"),
                Some(self.admin()),
            )
            .await;
        assert_eq!(res.status, 200, "{}", text(&res));
        res.json()["documents"][0]["id"]
            .as_str()
            .expect("a document")
            .to_owned()
    }

    async fn partner(&self) -> (String, String) {
        let n = self.next();
        let res = self
            .app
            .post_json(
                "/api/v1/staff/partners",
                Some(self.admin()),
                json!({"name": format!("Partenaire {n}"), "slug": format!("partenaire-{n}"), "contact_email": "stages@univ.example"}),
            )
            .await;
        assert_eq!(res.status, 201, "partner: {}", text(&res));
        let body = res.json();
        (
            body["id"].as_str().unwrap().to_owned(),
            body["api_key"].as_str().unwrap().to_owned(),
        )
    }

    async fn webhook(&self, partner: &str) -> String {
        let res = self
            .app
            .post_json(
                &format!("/api/v1/staff/partners/{partner}/webhooks"),
                Some(self.admin()),
                json!({ "url": format!("http://127.0.0.1:9/hook/{}", self.next()) }),
            )
            .await;
        assert_eq!(res.status, 201, "webhook: {}", text(&res));
        res.json()["id"].as_str().unwrap().to_owned()
    }

    async fn new() -> World {
        let app = TestApp::with_settings(|s| {
            s.partners.webhooks.allow_http = true;
            s.partners.webhooks.allow_loopback = true;
            s.calendar.approval = passerelle::settings::PublicationApproval::Required;
        })
        .await;
        let admin = app.token_for(Role::Admin).await;
        let manager = app.token_for(Role::Manager).await;
        let submitter = app.token_for(Role::Manager).await;
        let reviewer = app.token_for(Role::Reviewer).await;
        let other_reviewer = app.create_staff(Role::Reviewer);
        let login = app.create_staff(Role::Manager);
        let mut world = World {
            app,
            admin,
            manager,
            reviewer,
            submitter,
            login,
            candidate_token: String::new(),
            partner_key: String::new(),
            spare_partner: String::new(),
            here: Target::default(),
            elsewhere: Target::default(),
            secrets: Vec::new(),
            seq: Cell::new(0),
        };
        let (here, _) = world.offer(Stage::Published, true).await;
        let (elsewhere, _) = world.offer(Stage::Published, false).await;
        world.assign(&elsewhere, other_reviewer.id).await;
        let (application, token) = world.application(&here).await;
        let (other_application, _) = world.application(&elsewhere).await;
        let (partner, key) = world.partner().await;
        let (spare, _) = world.partner().await;
        let webhook = world.webhook(&partner).await;
        let user = world.app.create_staff(Role::Reviewer);
        let common = Target {
            partner,
            webhook,
            user: user.id.to_string(),
            reviewer: world.reviewer.0.id.to_string(),
            ..Target::default()
        };
        world.here = Target {
            document: world.first_document(&application).await,
            offer: here,
            application,
            ..common.clone()
        };
        world.elsewhere = Target {
            document: world.first_document(&other_application).await,
            offer: elsewhere,
            application: other_application,
            ..common
        };
        world.candidate_token = token;
        world.partner_key = key;
        world.spare_partner = spare;
        world.secrets = vec![
            "Benali".into(),
            "@exemple.fr".into(),
            "12 34 56 78".into(),
            world.login.email.clone(),
            user.email,
        ];
        world
    }

    /// The staff member behind a caller.
    fn staff(&self, caller: Caller) -> Option<&(Staff, String)> {
        match caller {
            Caller::Reviewer | Caller::ReviewerElsewhere => Some(&self.reviewer),
            Caller::Manager => Some(&self.manager),
            Caller::Admin => Some(&self.admin),
            _ => None,
        }
    }

    fn credentials(&self, caller: Caller) -> Option<&str> {
        match caller {
            Caller::Anonymous => None,
            Caller::Candidate => Some(&self.candidate_token),
            Caller::Partner => Some(&self.partner_key),
            staff => self.staff(staff).map(|s| s.1.as_str()),
        }
    }

    /// Makes what `setup` needs for `caller` and describes the call.
    async fn prepare(&self, setup: Setup, caller: Caller) -> Call {
        let here = caller != Caller::ReviewerElsewhere;
        let target = if here { &self.here } else { &self.elsewhere };
        let call = Call::on(target);
        match setup {
            Plain => call,
            Login => call.json(json!({"email": self.login.email, "password": PASSWORD})),
            Refresh => {
                let tokens = self.app.login(&self.login).await;
                call.json(json!({ "refresh_token": tokens.refresh_token }))
            }
            NewSession => match self.staff(caller) {
                Some((staff, _)) => Call {
                    token: Some(self.app.login(staff).await.access_token),
                    ..call
                },
                None => call,
            },
            NewAccount => {
                let call = call.json(json!({
                    "current_password": PASSWORD,
                    "new_password": "un tout autre mot de passe, plus long",
                }));
                match caller.role() {
                    Some(role) => Call {
                        token: Some(self.app.token_for(role).await.1),
                        ..call
                    },
                    None => call,
                }
            }
            Apply => {
                let email = format!("candidate.{}@exemple.fr", self.next());
                let fields = candidate_fields(&email);
                let fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                Call {
                    body: Body::Multipart(multipart(&fields, &pdfs())),
                    ..call
                }
            }
            Correction => call.json(json!({ "phone": "+33 6 98 76 54 32" })),
            NewApplication => {
                let (_, token) = self.application(&target.offer).await;
                let call = Call::on(target);
                match caller {
                    Caller::Candidate => Call {
                        token: Some(token),
                        ..call
                    },
                    _ => call,
                }
            }
            EmailCode => {
                let (_, token) = self.application(&target.offer).await;
                let email = format!("nouvelle.{}@exemple.fr", self.next());
                let res = self
                    .app
                    .patch_json(
                        "/api/v1/candidate/application",
                        Some(&token),
                        json!({ "email": email }),
                    )
                    .await;
                assert_eq!(res.status, 202, "email change: {}", text(&res));
                let code = crate::candidate::queued_code(&self.app, &email);
                let call = Call::on(target).json(json!({ "code": code }));
                match caller {
                    Caller::Candidate => Call {
                        token: Some(token),
                        ..call
                    },
                    _ => call,
                }
            }
            NewOffer => call.json(open_offer(&format!("VDG-AUTHZ-NEW-{}", self.next()))),
            ReplaceOffer | PatchOffer => {
                let path = format!("/api/v1/staff/offers/{}", target.offer);
                let etag = self.etag(&path).await;
                let body = if let ReplaceOffer = setup {
                    let current = self.app.get(&path, Some(self.admin())).await.json();
                    let mut input = open_offer(current["reference"].as_str().unwrap());
                    input["title"] = current["title"].clone();
                    input
                } else {
                    json!({})
                };
                call.json(body).if_match(etag)
            }
            Draft | Published | Closed | Submitted | Approved | Scheduled | Schedule | Reject => {
                let (stage, body) = match setup {
                    Draft => (Stage::Draft, json!({})),
                    Submitted => (Stage::Submitted, json!({})),
                    Approved => (Stage::Approved, json!({})),
                    Scheduled => (Stage::Scheduled, json!({})),
                    Schedule => (
                        Stage::Approved,
                        json!({ "publish_at": self.app.state.now() + chrono::TimeDelta::days(1) }),
                    ),
                    Reject => (Stage::Submitted, json!({ "reason": "À revoir." })),
                    Published => (Stage::Published, json!({})),
                    _ => (Stage::Closed, json!({})),
                };
                let (offer, etag) = self.offer(stage, here).await;
                Call::on(&Target {
                    offer,
                    ..target.clone()
                })
                .json(body)
                .if_match(etag)
            }
            NewReviewer => {
                let reviewer = self.app.create_staff(Role::Reviewer);
                call.json(json!({ "reviewer_id": reviewer.id }))
            }
            Assigned => {
                let reviewer = self.app.create_staff(Role::Reviewer);
                self.assign(&target.offer, reviewer.id).await;
                Call::on(&Target {
                    reviewer: reviewer.id.to_string(),
                    ..target.clone()
                })
            }
            Criteria => {
                let (offer, _) = self.offer(Stage::Published, here).await;
                Call::on(&Target {
                    offer,
                    ..target.clone()
                })
                .json(json!([{"key": "motivation", "label": "Motivation", "weight": 2}]))
            }
            ReviewSettings => call.json(json!({ "blind": false })),
            Review => {
                let res = self
                    .app
                    .get(
                        &format!("/api/v1/staff/offers/{}/criteria", target.offer),
                        Some(self.admin()),
                    )
                    .await;
                assert_eq!(res.status, 200, "criteria: {}", text(&res));
                let scores: serde_json::Map<String, Value> = res.json()["criteria"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| (c["key"].as_str().unwrap().to_owned(), json!(4)))
                    .collect();
                call.json(json!({"scores": scores, "recommendation": "yes", "comment": "Solide."}))
            }
            Conflict | Transition => {
                let (application, _) = self.application(&target.offer).await;
                let call = Call::on(&Target {
                    application,
                    ..target.clone()
                });
                if let Transition = setup {
                    let path = format!("/api/v1/staff/applications/{}", call.target.application);
                    let etag = self.etag(&path).await;
                    call.json(json!({ "to": "screening" })).if_match(etag)
                } else {
                    call
                }
            }
            NewUser => call.json(json!({
                "email": format!("nouveau.{}@ville.example", self.next()),
                "name": "Nouvelle Personne",
                "role": "reviewer",
                "password": "un mot de passe tout neuf",
            })),
            RenameUser => call.json(json!({ "name": format!("Nom {}", self.next()) })),
            NewPartner => {
                let n = self.next();
                call.json(json!({"name": format!("Nouveau {n}"), "slug": format!("nouveau-{n}"), "contact_email": "stages@univ.example"}))
            }
            RenamePartner => {
                call.json(json!({ "name": format!("Partenaire renommé {}", self.next()) }))
            }
            RotateKey => Call::on(&Target {
                partner: self.spare_partner.clone(),
                ..target.clone()
            }),
            NewWebhook => {
                call.json(json!({ "url": format!("http://127.0.0.1:9/new/{}", self.next()) }))
            }
            EnableWebhook => call.json(json!({ "active": true })),
            OwnWebhook => {
                let webhook = self.webhook(&target.partner).await;
                Call::on(&Target {
                    webhook,
                    ..target.clone()
                })
            }
        }
    }

    async fn send(
        &self,
        method: &str,
        uri: &str,
        call: &Call,
        token: Option<&str>,
    ) -> TestResponse {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = TestRequest::default().method(method).uri(uri);
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        if let Some(etag) = &call.if_match {
            req = req.insert_header(("If-Match", etag.clone()));
        }
        req = match &call.body {
            Body::Empty => req,
            Body::Json(v) => req.set_json(v),
            Body::Multipart(bytes) => req
                .insert_header((
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                ))
                .set_payload(bytes.clone()),
        };
        self.app.send(req).await
    }
}

/// A body, short, for failure messages.
fn text(res: &TestResponse) -> String {
    let kind = res.header("content-type").unwrap_or("");
    if kind.contains("json") {
        String::from_utf8_lossy(&res.body)
            .chars()
            .take(400)
            .collect()
    } else {
        format!("<{} bytes of {kind}>", res.body.len())
    }
}

/// What is wrong with a refusal's body, if anything.
fn refusal_problems(res: &TestResponse, call: &Call, world: &World) -> Vec<String> {
    let mut out = Vec::new();
    if res.header("content-type") != Some("application/problem+json") {
        out.push(format!("content type {:?}", res.header("content-type")));
        return out;
    }
    let body: Value = match serde_json::from_slice(&res.body) {
        Ok(v) => v,
        Err(e) => return vec![format!("not JSON: {e}")],
    };
    let allowed = ["type", "title", "status", "detail", "code", "request_id"];
    for key in body.as_object().map(|o| o.keys()).into_iter().flatten() {
        if !allowed.contains(&key.as_str()) {
            out.push(format!("unexpected member {key:?}"));
        }
    }
    if body["status"] != res.status.as_u16() || !body["code"].is_string() {
        out.push(format!("not a problem of this status: {body}"));
    }
    let raw = String::from_utf8_lossy(&res.body);
    for secret in call
        .target
        .ids()
        .into_iter()
        .chain(world.secrets.iter().map(String::as_str))
    {
        if raw.contains(secret) {
            out.push(format!("mentions {secret}"));
        }
    }
    out
}

/// Objects an allowed answer shows that the caller may not know of: what is not assigned to
/// the reviewer, on any staff route (lists included); another candidate's application.
fn foreign_objects(world: &World, caller: Caller, path: &str, res: &TestResponse) -> Vec<String> {
    let foreign = match caller {
        Caller::Reviewer | Caller::ReviewerElsewhere if path.starts_with("/api/v1/staff/") => {
            vec![
                &world.elsewhere.offer,
                &world.elsewhere.application,
                &world.elsewhere.document,
            ]
        }
        Caller::Candidate if path.starts_with("/api/v1/candidate/") => {
            vec![&world.elsewhere.application, &world.elsewhere.document]
        }
        _ => return Vec::new(),
    };
    let raw = String::from_utf8_lossy(&res.body);
    foreign
        .into_iter()
        .filter(|id| raw.contains(id.as_str()))
        .map(|id| format!("shows {id}, which is not theirs"))
        .collect()
}

#[actix_web::test]
async fn every_operation_gives_every_caller_the_documented_answer() {
    let spec = spec_operations();
    let world = World::new().await;
    let mut failures = Vec::new();
    let mut refused_403: BTreeSet<&str> = BTreeSet::new();
    for (op, letters, setup) in MATRIX {
        let (method, path) = op.split_once(' ').unwrap();
        let Some(documented) = spec.get(*op) else {
            failures.push(format!("{op}: not in the spec"));
            continue;
        };
        for (caller, expect) in CALLERS.into_iter().zip(expectations(letters)) {
            let call = world.prepare(*setup, caller).await;
            let uri = call.target.fill(path);
            let token = call.token.as_deref().or(world.credentials(caller));
            let res = world.send(method, &uri, &call, token).await;
            let status = res.status.as_u16();
            let mut wrong = Vec::new();
            if !documented.contains(&status) {
                wrong.push(format!("{status} is not documented (spec: {documented:?})"));
            }
            let wanted = match expect {
                Expect::Allowed => (200..300).contains(&status),
                Expect::Unauthenticated => status == 401,
                Expect::Forbidden => status == 403,
                Expect::Hidden => status == 404,
            };
            if !wanted {
                wrong.push(format!("expected {expect:?}, got {status}"));
            }
            if status == 403 {
                refused_403.insert(op);
            }
            if expect == Expect::Allowed {
                wrong.extend(foreign_objects(&world, caller, path, &res));
            }
            if matches!(status, 401 | 403 | 404) {
                wrong.extend(refusal_problems(&res, &call, &world));
            }
            if status == 401 && res.header("www-authenticate") != Some("Bearer") {
                wrong.push("401 without WWW-Authenticate: Bearer".into());
            }
            if expect == Expect::Hidden && status == 404 {
                // As if it did not exist: the same answer for ids nobody has.
                let mut unknown = uri.clone();
                for id in call.target.ids() {
                    unknown = unknown.replace(id, &Uuid::new_v4().to_string());
                }
                let ghost = world.send(method, &unknown, &call, token).await;
                let code = |r: &TestResponse| r.json()["code"].clone();
                if ghost.status != res.status || code(&ghost) != code(&res) {
                    wrong.push(format!(
                        "an unknown id gets {} {}, this one {} {}",
                        ghost.status,
                        code(&ghost),
                        res.status,
                        code(&res)
                    ));
                }
            }
            for w in wrong {
                failures.push(format!("{op} as {caller:?}: {w} — {}", text(&res)));
            }
            if expect != Expect::Allowed && matches!(call.body, Body::Json(_)) {
                // A refused caller's body is not worth reading: the answer is the same 401,
                // 403 or 404 whatever it says (handlers take `http::JsonBody` only once the
                // caller is known to be allowed).
                let junk = Call {
                    body: Body::Json(json!({ "authz_probe": [1] })),
                    target: call.target.clone(),
                    if_match: call.if_match.clone(),
                    token: call.token.clone(),
                };
                let res = world.send(method, &uri, &junk, token).await;
                let status = res.status.as_u16();
                let fine = match expect {
                    Expect::Unauthenticated => status == 401,
                    Expect::Forbidden => status == 403,
                    _ => status == 404,
                };
                if !fine || !documented.contains(&status) {
                    failures.push(format!(
                        "{op} as {caller:?} with a body of the wrong shape: {status} (spec: {documented:?}) — {}",
                        text(&res)
                    ));
                }
            }
        }
    }
    for (op, documented) in &spec {
        if documented.contains(&403)
            && !refused_403.contains(op.as_str())
            && !OTHER_403S.contains(&op.as_str())
        {
            failures.push(format!(
                "{op}: documents a 403 that no caller gets (drop it, or say why in OTHER_403S)"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} wrong answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[actix_web::test]
async fn blind_review_keeps_documents_from_reviewers() {
    let world = World::new().await;
    let (application, document) = (&world.here.application, &world.here.document);
    let offer = &world.here.offer;
    let res = world
        .app
        .json_request(
            TestRequest::put(),
            &format!("/api/v1/staff/offers/{offer}/review-settings"),
            Some(world.admin()),
            json!({ "blind": true }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", text(&res));
    let path = format!("/api/v1/staff/applications/{application}/documents/{document}");
    let res = world.app.get(&path, Some(&world.reviewer.1)).await;
    res.assert_problem(403, "blind_review");
    assert!(refusal_problems(&res, &Call::on(&world.here), &world).is_empty());
    let documented =
        &spec_operations()["GET /api/v1/staff/applications/{id}/documents/{document_id}"];
    assert!(documented.contains(&403));
    // Managers still download it; the reviewer still reads the application, without names.
    assert_eq!(
        world.app.get(&path, Some(&world.manager.1)).await.status,
        200
    );
    let res = world
        .app
        .get(
            &format!("/api/v1/staff/applications/{application}"),
            Some(&world.reviewer.1),
        )
        .await;
    assert_eq!(res.status, 200);
    assert!(!String::from_utf8_lossy(&res.body).contains("Benali"));
}

#[actix_web::test]
async fn a_child_id_under_another_parent_is_not_found() {
    let world = World::new().await;
    let (here, elsewhere) = (&world.here, &world.elsewhere);
    // Another application's document, under an application the caller may read.
    let path = format!(
        "/api/v1/staff/applications/{}/documents/{}",
        here.application, elsewhere.document
    );
    for token in [&world.reviewer.1, &world.admin.1] {
        world
            .app
            .get(&path, Some(token))
            .await
            .assert_problem(404, "not_found");
    }
    // A partner's webhook, under another partner.
    let path = format!(
        "/api/v1/staff/partners/{}/webhooks/{}",
        world.spare_partner, here.webhook
    );
    world
        .app
        .patch_json(&path, Some(world.admin()), json!({ "active": false }))
        .await
        .assert_problem(404, "not_found");
    world
        .app
        .send(
            TestRequest::delete()
                .uri(&path)
                .insert_header(("Authorization", format!("Bearer {}", world.admin()))),
        )
        .await
        .assert_problem(404, "not_found");
    let res = world
        .app
        .get(
            &format!("/api/v1/staff/partners/{}/webhooks", here.partner),
            Some(world.admin()),
        )
        .await;
    assert_eq!(res.json()["items"][0]["id"], here.webhook.as_str());
    assert_eq!(res.json()["items"][0]["active"], true);
    // The reviewer of one offer, unassigned from another.
    let path = format!(
        "/api/v1/staff/offers/{}/reviewers/{}",
        elsewhere.offer, world.reviewer.0.id
    );
    world
        .app
        .send(
            TestRequest::delete()
                .uri(&path)
                .insert_header(("Authorization", format!("Bearer {}", world.manager.1))),
        )
        .await
        .assert_problem(404, "not_found");
    let res = world
        .app
        .get(
            &format!("/api/v1/staff/offers/{}", here.offer),
            Some(&world.reviewer.1),
        )
        .await;
    assert_eq!(res.status, 200, "still assigned: {}", text(&res));
}
