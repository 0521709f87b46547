//! What an offer goes through besides its status: why it was closed, its scheduled
//! publication, and the four-eyes approval of a draft (`PUBLICATION_APPROVAL=required`).
//! The rules here are pure; `lifecycle` applies them to rows.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why an offer is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// A staff member closed it.
    Manual,
    /// Its deadline day ended in the city's time zone; the calendar closed it.
    DeadlinePassed,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Manual => "manual",
            CloseReason::DeadlinePassed => "deadline_passed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [CloseReason::Manual, CloseReason::DeadlinePassed]
            .into_iter()
            .find(|r| r.as_str() == raw)
    }
}

/// Where a draft stands in the four-eyes approval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Not submitted (or sent back by a change to its content).
    #[default]
    None,
    /// Submitted, waiting for a second person.
    Submitted,
    /// Approved by a second person: it may be published or scheduled.
    Approved,
    /// Rejected with a reason; it can be changed and submitted again.
    Rejected,
}

impl Approval {
    pub fn as_str(self) -> &'static str {
        match self {
            Approval::None => "none",
            Approval::Submitted => "submitted",
            Approval::Approved => "approved",
            Approval::Rejected => "rejected",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Approval::None,
            Approval::Submitted,
            Approval::Approved,
            Approval::Rejected,
        ]
        .into_iter()
        .find(|a| a.as_str() == raw)
    }

    /// A change to the content sends a submitted or approved draft back: what was looked at
    /// is no longer what would be published.
    pub fn after_content_change(self) -> Approval {
        match self {
            Approval::Submitted | Approval::Approved => Approval::None,
            other => other,
        }
    }
}

/// A step of the approval, as staff ask for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalStep {
    Submit,
    Approve,
    Reject,
}

/// Why an approval step is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepRefused {
    /// Not possible from the current approval state (a 409).
    WrongState(String),
    /// The person who submitted cannot decide (a 403).
    OwnSubmission,
}

impl ApprovalStep {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStep::Submit => "submit",
            ApprovalStep::Approve => "approve",
            ApprovalStep::Reject => "reject",
        }
    }

    /// The approval state after this step, taken by `actor` on a draft in state `from` that
    /// `submitted_by` submitted.
    pub fn apply(
        self,
        from: Approval,
        actor: uuid::Uuid,
        submitted_by: Option<uuid::Uuid>,
    ) -> Result<Approval, StepRefused> {
        use Approval::*;
        match (self, from) {
            (ApprovalStep::Submit, None | Rejected) => Ok(Submitted),
            (ApprovalStep::Approve | ApprovalStep::Reject, Submitted)
                if submitted_by == Some(actor) =>
            {
                Err(StepRefused::OwnSubmission)
            }
            (ApprovalStep::Approve, Submitted) => Ok(Approved),
            (ApprovalStep::Reject, Submitted) => Ok(Rejected),
            (step, state) => Err(StepRefused::WrongState(format!(
                "cannot {} an offer whose approval is {}: {}",
                step.as_str(),
                state.as_str(),
                match state {
                    None => "submit it first",
                    Submitted => "it waits for another admin or manager to approve or reject it",
                    Approved =>
                        "it is approved: publish or schedule it, or change it to send it back",
                    Rejected => "change it if needed and submit it again",
                }
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn the_approval_machine_needs_two_people() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(
            ApprovalStep::Submit.apply(Approval::None, a, None),
            Ok(Approval::Submitted)
        );
        assert_eq!(
            ApprovalStep::Approve.apply(Approval::Submitted, a, Some(a)),
            Err(StepRefused::OwnSubmission)
        );
        assert_eq!(
            ApprovalStep::Reject.apply(Approval::Submitted, a, Some(a)),
            Err(StepRefused::OwnSubmission)
        );
        assert_eq!(
            ApprovalStep::Approve.apply(Approval::Submitted, b, Some(a)),
            Ok(Approval::Approved)
        );
        assert_eq!(
            ApprovalStep::Reject.apply(Approval::Submitted, b, Some(a)),
            Ok(Approval::Rejected)
        );
        assert_eq!(
            ApprovalStep::Submit.apply(Approval::Rejected, a, Some(a)),
            Ok(Approval::Submitted)
        );
        for (step, state) in [
            (ApprovalStep::Submit, Approval::Submitted),
            (ApprovalStep::Submit, Approval::Approved),
            (ApprovalStep::Approve, Approval::None),
            (ApprovalStep::Approve, Approval::Approved),
            (ApprovalStep::Reject, Approval::Rejected),
        ] {
            assert!(matches!(
                step.apply(state, b, Some(a)),
                Err(StepRefused::WrongState(_))
            ));
        }
    }

    #[test]
    fn a_content_change_sends_the_draft_back() {
        assert_eq!(Approval::Approved.after_content_change(), Approval::None);
        assert_eq!(Approval::Submitted.after_content_change(), Approval::None);
        assert_eq!(
            Approval::Rejected.after_content_change(),
            Approval::Rejected
        );
        assert_eq!(Approval::None.after_content_change(), Approval::None);
    }

    #[test]
    fn stored_names_round_trip() {
        for r in [CloseReason::Manual, CloseReason::DeadlinePassed] {
            assert_eq!(CloseReason::parse(r.as_str()), Some(r));
        }
        for a in [
            Approval::None,
            Approval::Submitted,
            Approval::Approved,
            Approval::Rejected,
        ] {
            assert_eq!(Approval::parse(a.as_str()), Some(a));
        }
        assert_eq!(Approval::parse("maybe"), None);
    }
}
