//! `POST /waitlist`: validate here, store through api-fn, answer a page (form) or JSON.

use worker::{Request, Response, Result, console_error};

use super::body::{ReadError, read_capped};
use super::{origin, respond};
use crate::config::Config;
use crate::forwarding::{BodyRefusal, plan_body};
use crate::pages::waitlist_reply;
use crate::problem::Problem;
use crate::waitlist::{
    MAX_SUBMISSION_BYTES, OriginReply, SubmissionError, SubmissionFormat, interpret_origin_reply,
    parse_submission, read_email_field, submission_format,
};

fn refused(format: SubmissionFormat, error: &SubmissionError, typed: &str) -> Result<Response> {
    match format {
        SubmissionFormat::Json => respond::problem(&error.problem()),
        SubmissionFormat::Form => respond::html(
            error.problem().status,
            &waitlist_reply::refused(&error.to_string(), typed),
            "no-store",
        ),
    }
}

pub async fn handle(
    mut req: Request,
    config: &Config,
    client_ip: Option<&str>,
) -> Result<Response> {
    let format = match submission_format(req.headers().get("content-type")?.as_deref()) {
        Ok(format) => format,
        Err(error) => return respond::problem(&error.problem()),
    };
    let content_length = req.headers().get("content-length")?;
    let too_large = |format| refused(format, &SubmissionError::TooLarge, "");
    if let Err(BodyRefusal::TooLarge { .. }) =
        plan_body(content_length.as_deref(), true, MAX_SUBMISSION_BYTES)
    {
        return too_large(format);
    }
    let body = match read_capped(&mut req, MAX_SUBMISSION_BYTES).await {
        Ok(body) => body,
        Err(ReadError::Refused(_)) => return too_large(format),
        Err(ReadError::Runtime(error)) => return Err(error),
    };
    let typed = read_email_field(format, &body).unwrap_or_default();
    let email = match parse_submission(format, &body) {
        Ok(email) => email,
        Err(error) => return refused(format, &error, &typed),
    };

    let reply = match origin::submit_waitlist(config, email.as_str(), client_ip).await {
        Some((status, body)) => interpret_origin_reply(status, &body),
        None => OriginReply::Failed { status: 0 },
    };
    match (reply, format) {
        (OriginReply::Stored(outcome), SubmissionFormat::Json) => {
            let (status, body) = outcome.json_reply();
            respond::json(status, body, "application/json")
        }
        (OriginReply::Stored(outcome), SubmissionFormat::Form) => respond::html(
            200,
            &waitlist_reply::stored(outcome, email.as_str()),
            "no-store",
        ),
        (OriginReply::Refused(detail), SubmissionFormat::Json) => respond::problem(&Problem::new(
            "invalid-email",
            "Invalid email address",
            422,
            detail,
        )),
        (OriginReply::Refused(detail), SubmissionFormat::Form) => {
            respond::html(422, &waitlist_reply::refused(&detail, &typed), "no-store")
        }
        (OriginReply::Failed { status }, format) => {
            console_error!(
                "edge: api-fn answered the waitlist with status {status} (0: no answer)"
            );
            match format {
                SubmissionFormat::Json => respond::problem(&Problem::origin_unreachable()),
                SubmissionFormat::Form => {
                    respond::html(503, &waitlist_reply::unavailable(&typed), "no-store")
                }
            }
        }
    }
}
