//! The `"email"` job kind: what a job worker does with one.

use super::{mail::Email, Job, JobError};
use crate::state::AppState;

/// The handler of [`super::EMAIL`] jobs: sends the email in the payload with the state's
/// mailer. Blocking: called by the job queue on the blocking pool.
pub fn deliver(state: &AppState, job: &Job) -> Result<(), JobError> {
    // serde's message could quote a field's value (an address): say only what failed.
    let email: Email = serde::Deserialize::deserialize(&job.payload)
        .map_err(|_| JobError::Permanent("the payload is not an email".to_owned()))?;
    state
        .mailer
        .send_about(&email, job.application_id)
        .map_err(|e| {
            if e.is_permanent() {
                JobError::Permanent(e.to_string())
            } else {
                JobError::Retry(e.to_string())
            }
        })
}
