use super::*;
use proptest::prelude::*;

#[test]
fn parses_every_scheme() {
    for s in Scheme::ALL {
        let r = SecretRef::parse(&format!("{s}://a/b")).unwrap();
        assert_eq!(r.scheme, s);
        assert_eq!(r.location, "a/b");
    }
    assert_eq!(
        SecretRef::parse("bao://kv/x").unwrap().scheme,
        Scheme::Vault
    );
}

#[test]
fn params_selector_and_decoding() {
    let r = SecretRef::parse(
        "aws-sm://my%23name=x?region=eu-west-1&version-stage=AWSPREVIOUS#db.users[1].pw",
    )
    .unwrap();
    assert_eq!(r.location, "my#name=x");
    assert_eq!(r.param("region"), Some("eu-west-1"));
    assert_eq!(r.param("version-stage"), Some("AWSPREVIOUS"));
    assert_eq!(
        r.selector,
        Some(Selector::DotPath(vec![
            Segment::Key("db".into()),
            Segment::Key("users".into()),
            Segment::Index(1),
            Segment::Key("pw".into())
        ]))
    );
}

#[test]
fn json_pointer_escapes() {
    let r = SecretRef::parse("file:///run/secrets/x#/a~1b/c~0d/0").unwrap();
    assert_eq!(r.location, "/run/secrets/x");
    assert_eq!(
        r.selector,
        Some(Selector::Pointer(vec![
            "a/b".into(),
            "c~d".into(),
            "0".into()
        ]))
    );
    assert_eq!(r.to_string(), "file:///run/secrets/x#/a~1b/c~0d/0");
}

#[test]
fn bare_arn_and_bare_name() {
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf#password";
    let r = SecretRef::parse(arn).unwrap();
    assert_eq!(r.scheme, Scheme::AwsSm);
    assert_eq!(
        r.location,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
    );
    let r = SecretRef::parse_or_bare("prod/api-key#token", Scheme::Local).unwrap();
    assert_eq!(
        (r.scheme, r.location.as_str()),
        (Scheme::Local, "prod/api-key")
    );
    assert!(SecretRef::parse("prod/api-key").is_err());
    let ssm = SecretRef::parse("arn:aws:ssm:eu-west-1:1:parameter/app/key").unwrap();
    assert_eq!(ssm.scheme, Scheme::AwsSsm);
}

#[test]
fn bare_gcp_resource_names() {
    let r = SecretRef::parse("projects/p1/secrets/api-key/versions/3#token").unwrap();
    assert_eq!(r.scheme, Scheme::GcpSm);
    assert_eq!(r.location, "projects/p1/secrets/api-key/versions/3");
    let r = SecretRef::parse_or_bare("projects/p1/secrets/s", Scheme::Local).unwrap();
    assert_eq!(r.scheme, Scheme::GcpSm);
    assert!(SecretRef::parse("projects/p1").is_err());
    let r = SecretRef::parse_or_bare("projects/p1", Scheme::Local).unwrap();
    assert_eq!(r.scheme, Scheme::Local);
}

#[test]
fn bare_gcp_resource_names_yield_to_another_vault_type() {
    let r = SecretRef::parse_or_bare("projects/p1/secrets/s", Scheme::AwsSm).unwrap();
    assert_eq!(
        (r.scheme, r.location.as_str()),
        (Scheme::AwsSm, "projects/p1/secrets/s")
    );
    let r = SecretRef::parse_or_bare("projects/p1/secrets/s", Scheme::Vault).unwrap();
    assert_eq!(r.scheme, Scheme::Vault);
    let r = SecretRef::parse_or_bare("projects/p1/secrets/s", Scheme::GcpSm).unwrap();
    assert_eq!(r.scheme, Scheme::GcpSm);
    // An ARN still names its own service.
    let r = SecretRef::parse_or_bare("arn:aws:ssm:eu-west-1:1:parameter/k", Scheme::Vault).unwrap();
    assert_eq!(r.scheme, Scheme::AwsSsm);
}

#[test]
fn errors_point_at_the_offending_position() {
    let e = SecretRef::parse("local://ab%zz").unwrap_err();
    assert_eq!(e.position, 10);
    assert!(e.to_string().contains("character 11"), "{e}");
    // The second '.' is where the empty segment shows.
    let e = SecretRef::parse("local://x#a..b").unwrap_err();
    assert_eq!(e.position, 12);
    let e = SecretRef::parse("local://x#/a~2").unwrap_err();
    assert_eq!(e.position, 12);
    let e = SecretRef::parse("nope://x").unwrap_err();
    assert_eq!(e.position, 0);
    assert!(e.to_string().contains("unknown scheme"));
    let e = SecretRef::parse("local://x?region").unwrap_err();
    assert_eq!(e.position, 10);
    let e = SecretRef::parse("local://").unwrap_err();
    assert_eq!(e.position, 8);
    let e = SecretRef::parse("local://x#").unwrap_err();
    assert_eq!(e.position, 10);
}

#[test]
fn selector_applies_and_never_names_values() {
    let doc: serde_json::Value = serde_json::from_str(
        r#"{"db":{"port":5432,"on":true,"pw":"hunter2-canary","list":["a","b"]}}"#,
    )
    .unwrap();
    let sel = |s: &str| Selector::parse(s).unwrap();
    assert_eq!(sel("db.port").select_scalar(&doc).unwrap(), "5432");
    assert_eq!(sel("db.on").select_scalar(&doc).unwrap(), "true");
    assert_eq!(sel("db.list[1]").select_scalar(&doc).unwrap(), "b");
    assert_eq!(sel("/db/list/0").select_scalar(&doc).unwrap(), "a");
    let e = sel("db.nope").select_scalar(&doc).unwrap_err().to_string();
    assert!(e.contains("\"pw\"") && !e.contains("hunter2"), "{e}");
    let e = sel("db").select_scalar(&doc).unwrap_err().to_string();
    assert!(e.contains("\"port\"") && !e.contains("hunter2"), "{e}");
    let e = sel("db.pw.x").select_scalar(&doc).unwrap_err().to_string();
    assert!(!e.contains("hunter2"), "{e}");
    assert!(sel("db.list[5]").select_scalar(&doc).is_err());
}

fn arb_ref() -> impl Strategy<Value = SecretRef> {
    let scheme = proptest::sample::select(Scheme::ALL.to_vec());
    let text = "[^\\p{Cc}]{1,12}";
    let key = "[^.\\[\\]/\\x00-\\x1f]{1,6}";
    let seg = prop_oneof![
        key.prop_map(Segment::Key),
        (0usize..50).prop_map(Segment::Index)
    ];
    let selector = prop_oneof![
        Just(None),
        proptest::collection::vec(seg, 1..4)
            .prop_filter(
                "a key may not follow an index without a dot-joined key",
                |v| {
                    // Display joins keys with '.', so a dot path is any sequence.
                    !v.is_empty()
                }
            )
            .prop_map(|v| Some(Selector::DotPath(v))),
        proptest::collection::vec("[^\\x00]{0,5}", 1..4).prop_map(|v| Some(Selector::Pointer(v))),
    ];
    (
        scheme,
        text,
        proptest::collection::vec(("[a-z%&=#? ]{1,5}", "[^\\x00-\\x1f]{0,5}"), 0..3),
        selector,
    )
        .prop_map(|(scheme, location, params, selector)| SecretRef {
            scheme,
            location,
            params,
            selector,
        })
}

proptest! {
    #[test]
    fn display_parse_round_trip(r in arb_ref()) {
        let shown = r.to_string();
        let back = SecretRef::parse(&shown);
        prop_assert_eq!(back.as_ref(), Ok(&r), "shown as {}", shown);
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,40}") {
        let _ = SecretRef::parse(&s);
        let _ = SecretRef::parse_or_bare(&s, Scheme::Local);
    }

    #[test]
    fn parse_never_panics_on_reference_like_input(s in "(local|aws-sm|file)://[a-z%#?&=/.\\[\\]~0-9]{0,30}") {
        let _ = SecretRef::parse(&s);
    }
}

#[test]
fn op_references_keep_1password_syntax_and_spaces() {
    let text = "op://Private/My Item/Admin Section/api key?attribute=otp&via=cli";
    let r = SecretRef::parse(text).unwrap();
    assert_eq!(r.scheme, Scheme::Op);
    assert_eq!(r.location, "Private/My Item/Admin Section/api key");
    assert_eq!(r.param("attribute"), Some("otp"));
    assert_eq!(r.param("via"), Some("cli"));
    assert_eq!(r.to_string(), text, "displayed as 1Password writes it");
    assert_eq!(SecretRef::parse(&r.to_string()).unwrap(), r);
    // Other schemes still escape spaces.
    let r = SecretRef::parse("local://a b").unwrap();
    assert_eq!(r.to_string(), "local://a%20b");
    // A bare id under --vault-type=op is an op reference.
    let r = SecretRef::parse_or_bare("dev/Stripe/publishable-key", Scheme::Op).unwrap();
    assert_eq!(r.to_string(), "op://dev/Stripe/publishable-key");
}

#[test]
fn an_escaped_slash_in_an_op_name_is_refused_not_split() {
    for text in ["op://V/GitHub%2Fprod/token", "op://V/GitHub%2fprod/token"] {
        let e = SecretRef::parse(text).unwrap_err();
        assert_eq!(e.position, 13, "{e}");
        assert!(e.message.contains("its ID"), "{e}");
    }
    // Other escapes still decode; other schemes keep %2F.
    let r = SecretRef::parse("op://V/a%3Fb/f").unwrap();
    assert_eq!(r.location, "V/a?b/f");
    assert_eq!(SecretRef::parse("local://a%2Fb").unwrap().location, "a/b");
}

#[test]
fn a_pasted_credential_in_a_minting_parameter_is_never_displayed() {
    let r = SecretRef::parse(
        "aws-sts://arn:aws:iam::1:role/r?external-id=CANARYsecret123&session-policy=local://p",
    )
    .unwrap();
    let shown = r.to_string();
    assert!(!shown.contains("CANARY"), "{shown}");
    assert!(shown.contains("session-policy=local://p"), "{shown}");
    let r = SecretRef::parse("github-app://1/2?key=local://gh-app-key").unwrap();
    assert_eq!(r.to_string(), "github-app://1/2?key=local://gh-app-key");
    // Other schemes' parameters are shown as written.
    let r = SecretRef::parse("local://x?key=abc").unwrap();
    assert_eq!(r.to_string(), "local://x?key=abc");
}
