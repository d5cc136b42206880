//! Unit tests for reference scoping, messages and the join helper. The calls
//! themselves are tested against moto in `tests/aws.rs`.

use std::time::Duration;

use super::error::{Action, from_code};
use super::setup::Group;
use super::*;
use crate::paths::Paths;

fn settings(region: Option<&str>, profile: Option<&str>) -> Settings {
    Settings {
        paths: Paths::at("/nonexistent".into()),
        aws_region: region.map(str::to_string),
        aws_profile: profile.map(str::to_string),
        timeout: Duration::from_secs(10),
        cloud: Default::default(),
    }
}

fn r(s: &str) -> SecretRef {
    SecretRef::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

fn scope(s: &str, service: Service, set: &Settings) -> Result<Scope, BackendError> {
    Scope::of(&r(s), service, set)
}

const SM: Service = Service::SecretsManager;

#[test]
fn region_comes_from_arn_then_param_then_settings() {
    let set = settings(Some("eu-west-1"), None);
    let arn = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:db-AbCdEf";
    assert_eq!(
        scope(arn, SM, &set).ok().and_then(|s| s.region).as_deref(),
        Some("ap-south-1")
    );
    assert_eq!(
        scope("aws-sm://db?region=us-west-2", SM, &set)
            .ok()
            .and_then(|s| s.region)
            .as_deref(),
        Some("us-west-2")
    );
    assert_eq!(
        scope("aws-sm://db", SM, &set)
            .ok()
            .and_then(|s| s.region)
            .as_deref(),
        Some("eu-west-1")
    );
    let none = settings(None, None);
    assert_eq!(
        scope("aws-sm://db", SM, &none).ok().map(|s| s.region),
        Some(None)
    );
}

#[test]
fn conflicting_arn_region_is_a_config_error() {
    let arn = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:db?region=us-east-1";
    let e = scope(arn, SM, &settings(None, None)).err();
    assert_eq!(e.as_ref().map(|e| e.kind), Some(ErrorKind::Config));
    // Same region twice is fine.
    let same = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:db?region=ap-south-1";
    assert!(scope(same, SM, &settings(None, None)).is_ok());
}

#[test]
fn arn_of_the_other_service_is_refused() {
    let e = scope(
        "aws-sm://arn:aws:ssm:us-east-1:1:parameter/x",
        SM,
        &settings(None, None),
    );
    assert_eq!(e.err().map(|e| e.kind), Some(ErrorKind::Config));
    let ok = scope(
        "arn:aws:ssm:us-east-1:1:parameter/x",
        Service::Ssm,
        &settings(None, None),
    );
    assert_eq!(ok.ok().and_then(|s| s.region).as_deref(), Some("us-east-1"));
}

#[test]
fn bad_region_names_are_refused() {
    for bad in ["us-east-1.evil.com", "US-EAST-1", "-x", "a/b"] {
        let e = scope(
            &format!("aws-sm://db?region={bad}"),
            SM,
            &settings(None, None),
        );
        assert_eq!(e.err().map(|e| e.kind), Some(ErrorKind::Config), "{bad}");
    }
}

#[test]
fn profile_from_param_then_settings() {
    let set = settings(None, Some("team"));
    assert_eq!(
        scope("aws-sm://db?profile=dev", SM, &set)
            .ok()
            .and_then(|s| s.profile)
            .as_deref(),
        Some("dev")
    );
    assert_eq!(
        scope("aws-sm://db", SM, &set)
            .ok()
            .and_then(|s| s.profile)
            .as_deref(),
        Some("team")
    );
    assert_eq!(
        scope("aws-sm://db", SM, &settings(None, Some("")))
            .ok()
            .map(|s| s.profile),
        Some(None)
    );
}

#[test]
fn malformed_arn_is_refused() {
    assert!(parse_arn("arn:aws:secretsmanager").is_err());
    assert_eq!(parse_arn("plain-name"), Ok(None));
}

fn action() -> Action {
    Action {
        service: SM,
        iam: "secretsmanager:GetSecretValue",
        noun: "secret",
    }
}

#[test]
fn error_codes_map_to_kinds() {
    let g = Group::for_test("us-east-1", Some("dev"));
    let kind =
        |code: &str, status: u16| from_code(Some(code), None, Some(status), &g, action()).kind;
    assert_eq!(kind("ResourceNotFoundException", 400), ErrorKind::NotFound);
    assert_eq!(kind("ParameterNotFound", 400), ErrorKind::NotFound);
    assert_eq!(kind("AccessDeniedException", 400), ErrorKind::Denied);
    assert_eq!(kind("UnrecognizedClientException", 400), ErrorKind::Denied);
    assert_eq!(kind("InvalidSignatureException", 400), ErrorKind::Denied);
    assert_eq!(kind("ExpiredTokenException", 400), ErrorKind::Denied);
    assert_eq!(kind("ThrottlingException", 400), ErrorKind::Unreachable);
    assert_eq!(kind("InternalServiceError", 500), ErrorKind::Unreachable);
    assert_eq!(kind("InvalidRequestException", 400), ErrorKind::Config);
    assert_eq!(
        from_code(None, None, Some(403), &g, action()).kind,
        ErrorKind::Denied
    );
}

#[test]
fn messages_are_one_line_and_name_what_to_check() {
    let g = Group::for_test("us-east-1", Some("dev"));
    let f = from_code(
        Some("AccessDeniedException"),
        Some("User: arn:aws:iam::1:user/x is not authorized\nto perform: GetSecretValue"),
        Some(400),
        &g,
        action(),
    );
    let e = f.at(r("aws-sm://db"));
    let text = e.to_string();
    assert!(!text.contains('\n'), "{text}");
    assert!(text.starts_with("aws-sm://db: access denied"), "{text}");
    assert!(text.contains("secretsmanager:GetSecretValue"), "{text}");
    assert!(text.contains("region us-east-1, profile dev"), "{text}");
    let nf = from_code(
        Some("ResourceNotFoundException"),
        None,
        Some(400),
        &g,
        action(),
    );
    assert!(
        nf.message.contains("check the name, the region"),
        "{}",
        nf.message
    );
}

#[test]
fn one_line_cleans_and_cuts() {
    assert_eq!(one_line("a\r\n\tb  c", 100), "a b c");
    assert_eq!(one_line("abcdef", 3), "abc…");
}

#[tokio::test]
async fn join_all_keeps_order_and_runs_concurrently() {
    let started = tokio::time::Instant::now();
    let futs: Vec<BoxFuture<'_, usize>> = (0..10usize)
        .map(|i| {
            let f: BoxFuture<'_, usize> = Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(100 - (i as u64) * 5)).await;
                i
            });
            f
        })
        .collect();
    let out = join_all(futs).await;
    assert_eq!(out, (0..10).collect::<Vec<_>>());
    assert!(started.elapsed() < Duration::from_millis(400));
}

#[tokio::test]
async fn parameter_errors_come_back_per_reference_without_network() {
    let set = settings(Some("us-east-1"), None);
    let sdk = Sdk::new(&set);
    let refs = vec![
        r("aws-sm://a?versionstage=X"),
        r("aws-sm://b?region=Bad_Region"),
        r("aws-sm://a?versionstage=X#k"),
    ];
    let out = fetch_all(
        &sdk,
        SM,
        &["region", "profile", "version-stage", "version-id"],
        &refs,
    )
    .await;
    assert_eq!(out.len(), 3);
    for (res, want) in out.iter().zip([
        "aws-sm://a?versionstage=X",
        "aws-sm://b?region=Bad_Region",
        "aws-sm://a?versionstage=X",
    ]) {
        match res {
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::Config);
                assert_eq!(e.subject, want);
            }
            Ok(_) => panic!("accepted"),
        }
    }
}

#[test]
fn write_rejections_and_helper_stderr_never_reach_a_message() {
    const CANARY: &str = "canary-aws-5e1d-do-not-leak";
    let g = Group::for_test("us-east-1", None);
    let put = Action {
        service: Service::SecretsManager,
        iam: "secretsmanager:PutSecretValue",
        noun: "secret",
    };
    let f = from_code(
        Some("ValidationException"),
        Some(&format!(
            "Value '{CANARY}' at 'secretString' failed to satisfy constraint"
        )),
        Some(400),
        &g,
        put,
    );
    assert!(!f.message.contains(CANARY), "{}", f.message);
    assert!(f.message.contains("ValidationException"), "{}", f.message);

    #[derive(Debug)]
    struct HelperFailed;
    impl std::fmt::Display for HelperFailed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(
                f,
                "credential_process exited with status 1. Stderr: token={CANARY}"
            )
        }
    }
    impl std::error::Error for HelperFailed {}
    let cause = super::error::root_cause(&HelperFailed);
    assert!(!cause.contains(CANARY), "{cause}");
    assert!(cause.contains("exited with status 1"), "{cause}");
}
