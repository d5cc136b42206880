use super::producers::{self, JSON_STYLES, Json, TEXT_STYLES, Text, json_string, leaks};
use super::*;
use proptest::prelude::*;

const CANARY: &str = "s3cr3t-Canary_Value/with+chars=é\"";

fn redactor(v: &str) -> Redactor {
    Redactor::new(&[("API_KEY".into(), SecretValue::from_slice(v.as_bytes()))]).0
}

fn red(r: &Redactor, line: &[u8], mode: Mode) -> Vec<u8> {
    let mut out = Vec::new();
    if r.redact(line, mode, &mut out) {
        out
    } else {
        line.to_vec()
    }
}

/// A JSON-RPC tool result whose text is `s`, written by serde_json.
fn json_line(s: &str) -> Vec<u8> {
    let mut v = serde_json::to_vec(&serde_json::json!({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text": s}]}}))
        .expect("json");
    v.push(b'\n');
    v
}

/// The same message with the text written by `style` (a producer's encoder).
fn styled_line(s: &str, style: Json) -> Vec<u8> {
    format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{{\"content\":[{{\"type\":\"text\",\"text\":{}}}]}}}}\n",
        json_string(s, style)
    )
    .into_bytes()
}

fn text_of(out: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(out).expect("still valid JSON");
    v["result"]["content"][0]["text"]
        .as_str()
        .expect("text")
        .to_owned()
}

#[test]
fn short_values_warn_by_name_only() {
    let (r, w) = Redactor::new(&[("SHORT".into(), SecretValue::from_slice(b"abc12"))]);
    assert!(!r.is_active());
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("SHORT") && !w[0].contains("abc12"));
}

#[test]
fn a_trailing_newline_does_not_count_and_is_said() {
    // 6 bytes with the newline, 5 without: too short, and the warning says why
    let (r, w) = Redactor::new(&[("NL".into(), SecretValue::from_slice(b"abc12\n"))]);
    assert!(!r.is_active());
    assert!(
        w[0].contains("NL") && w[0].contains("trailing newline"),
        "{w:?}"
    );
    // 8 with, 7 without: matched without it, in every spelling
    let r = redactor("abcdefg\n");
    for t in [
        "abcdefg",
        &STANDARD_B64(b"abcdefg"),
        &hex::encode(b"abcdefg"),
    ] {
        let out = red(&r, &json_line(&format!("x {t} y")), Mode::Auto);
        assert_eq!(text_of(&out), "x [REDACTED:API_KEY] y", "{t}");
    }
    let out = red(&r, b"log: abcdefg\n", Mode::Plain);
    assert_eq!(out, b"log: [REDACTED:API_KEY]\n");
}

#[allow(non_snake_case)]
fn STANDARD_B64(v: &[u8]) -> String {
    producers::text(v, Text::Base64)
}

#[test]
fn every_binary_and_url_spelling_inside_json_and_stays_valid() {
    let r = redactor(CANARY);
    for style in TEXT_STYLES {
        let t = producers::text(CANARY.as_bytes(), style);
        let line = json_line(&format!("before {t} after"));
        let out = red(&r, &line, Mode::Auto);
        assert_ne!(out, line, "{style:?} not found");
        assert!(text_of(&out).contains("[REDACTED:API_KEY]"), "{style:?}");
        assert!(
            !leaks(&out, CANARY.as_bytes()),
            "{style:?}: {}",
            String::from_utf8_lossy(&out)
        );
        assert!(out.ends_with(b"\n"));
    }
    // base64 of the value at each alignment inside a larger blob
    for pre in ["", "x", "xy"] {
        let t = STANDARD_B64(format!("{pre}token={CANARY};more").as_bytes());
        let out = red(&r, &json_line(&t), Mode::Auto);
        assert!(!leaks(&out, CANARY.as_bytes()), "{pre:?}");
    }
}

#[test]
fn every_json_encoder_style_as_value_key_and_stacked() {
    let r = redactor(CANARY);
    for style in JSON_STYLES {
        // as a value
        let out = red(
            &r,
            &styled_line(&format!("a {CANARY} b"), style),
            Mode::Auto,
        );
        assert_eq!(text_of(&out), "a [REDACTED:API_KEY] b", "{style:?}");
        // as a key
        let line = format!(
            "{{\"id\":1,\"result\":{{{}:1}}}}\n",
            json_string(CANARY, style)
        );
        let out = red(&r, line.as_bytes(), Mode::Auto);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
        assert!(
            v["result"].get("[REDACTED:API_KEY]").is_some(),
            "{style:?}: {v}"
        );
        // JSON text inside a JSON string, each level by another encoder
        for outer in JSON_STYLES {
            let inner = format!("{{\"token\":{}}}", json_string(CANARY, style));
            let out = red(&r, &styled_line(&inner, outer), Mode::Auto);
            let text = text_of(&out);
            let innerv: serde_json::Value =
                serde_json::from_str(&text).expect("inner JSON stays valid");
            assert_eq!(
                innerv["token"], "[REDACTED:API_KEY]",
                "{style:?} in {outer:?}"
            );
        }
    }
}

#[test]
fn go_html_escapes_in_a_dsn() {
    let dsn = "postgresql://app:Pa55word@db/app?sslmode=require&connect_timeout=10";
    let r = redactor(dsn);
    let line = styled_line(&format!("connecting to {dsn}"), Json::Go);
    assert!(String::from_utf8_lossy(&line).contains("require\\u0026connect"));
    let out = red(&r, &line, Mode::Auto);
    assert_eq!(text_of(&out), "connecting to [REDACTED:API_KEY]");
}

#[test]
fn first_letter_escaped_as_value_and_key() {
    let tok = "sk-live-51HqLyjWDarjtT1zdp7dc";
    let r = redactor(tok);
    let esc = format!("\\u0073{}", &tok[1..]);
    let line = format!("{{\"id\":1,\"result\":{{\"v\":\"{esc}\",\"{esc}\":true}}}}\n");
    let out = red(&r, line.as_bytes(), Mode::Auto);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "{\"id\":1,\"result\":{\"v\":\"[REDACTED:API_KEY]\",\"[REDACTED:API_KEY]\":true}}\n"
    );
}

#[test]
fn non_ascii_secrets_in_stacked_escapes() {
    let secret = "pässwörd-ключ-🔑-42";
    let r = redactor(secret);
    let inner = format!(
        "{{\"password\":{}}}",
        json_string(secret, Json::PythonAscii)
    );
    let mid = format!("{{\"log\":{}}}", json_string(&inner, Json::JacksonAscii));
    let out = red(&r, &styled_line(&mid, Json::Go), Mode::Auto);
    assert!(
        !leaks(&out, secret.as_bytes()),
        "{}",
        String::from_utf8_lossy(&out)
    );
    let mid: serde_json::Value = serde_json::from_str(&text_of(&out)).expect("valid");
    let inner: serde_json::Value =
        serde_json::from_str(mid["log"].as_str().expect("log")).expect("valid");
    assert_eq!(inner["password"], "[REDACTED:API_KEY]");
}

#[test]
fn base64_wrapped_at_76_in_a_json_string_and_on_raw_lines() {
    let long =
        "k".repeat(20) + "-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-end";
    assert!(long.len() > 57);
    let r = redactor(&long);
    for style in [Text::Mime, Text::Wrapped76, Text::Wrapped64] {
        for pre in ["", "a", "ab", "some prefix bytes: "] {
            let blob = format!("{pre}{long} and more after it");
            let t = producers::text(blob.as_bytes(), style);
            // inside one JSON string, the breaks as \n or \r\n
            let out = red(&r, &json_line(&t), Mode::Auto);
            assert!(!leaks(&out, long.as_bytes()), "{style:?} {pre:?} in JSON");
            serde_json::from_slice::<serde_json::Value>(&out).expect("valid");
            // as raw lines on stderr, each redacted alone
            let mut all = Vec::new();
            for l in t.split_inclusive('\n') {
                all.extend(red(&r, l.as_bytes(), Mode::Plain));
            }
            assert!(
                !leaks(&all, long.as_bytes()),
                "{style:?} {pre:?} raw: {}",
                String::from_utf8_lossy(&all)
            );
        }
    }
}

#[test]
fn form_encoding_styles() {
    let v = "my pass~word*with space+plus";
    let r = redactor(v);
    for style in [
        Text::QuotePlus,
        Text::JavaForm,
        Text::PctLower,
        Text::UriComponent,
    ] {
        let t = producers::text(v.as_bytes(), style);
        let out = red(&r, &json_line(&format!("https://h/?p={t}&x=1")), Mode::Auto);
        assert_eq!(
            text_of(&out),
            "https://h/?p=[REDACTED:API_KEY]&x=1",
            "{style:?}"
        );
    }
}

#[test]
fn one_json_escape_in_a_long_percent_spelling() {
    // encodeURIComponent keeps `'`, Gson then writes it `\u0027`: the only JSON
    // escape sits near the start of a spelling three times the value's length
    let v = "\\'\"[  中 :éé";
    let r = redactor(v);
    let t = producers::text(format!("{v} tail").as_bytes(), Text::UriComponent);
    let out = red(&r, &styled_line(&t, Json::Gson), Mode::Json);
    assert!(
        !leaks(&out, v.as_bytes()),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
fn json_on_stderr_stays_json() {
    let r = redactor(CANARY);
    let line = format!(
        "{{\"level\":\"error\",\"msg\":{}}}\n",
        json_string(&format!("bad token {CANARY}"), Json::Go)
    );
    let out = red(&r, line.as_bytes(), Mode::Auto);
    let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
    assert_eq!(v["msg"], "bad token [REDACTED:API_KEY]");
}

#[test]
fn match_inside_escape_is_widened() {
    // the raw bytes hold the value from the letter of an escape sequence on
    // (`\n` + "abcdef1"): the whole escape goes, the JSON stays valid
    let r = redactor("nabcdef1");
    let line = b"{\"a\":\"x\\nabcdef1\\u00e9\"}\n";
    let out = red(&r, line, Mode::Auto);
    let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
    assert_eq!(v["a"], "x[REDACTED:API_KEY]\u{e9}");
}

#[test]
fn surrogate_pairs_are_not_split() {
    let r = redactor("\u{1F600}abcdef");
    let esc = "\\ud83d\\ude00abcdef";
    let line = format!("{{\"a\":\"{esc}\"}}");
    let out = red(&r, line.as_bytes(), Mode::Auto);
    let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
    assert_eq!(v["a"], "[REDACTED:API_KEY]");
    // a match that starts at the low half widens to the pair
    let r = redactor("\\ude00abc");
    let out = red(&r, line.as_bytes(), Mode::Json);
    serde_json::from_slice::<serde_json::Value>(&out).expect("valid");
}

#[test]
fn numbers_and_structure() {
    let r = redactor("12345678");
    let out = red(&r, b"{\"id\":12345678,\"n\":[1123456789]}\n", Mode::Auto);
    let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
    assert_eq!(v["id"], "[REDACTED:API_KEY]");
    assert_eq!(v["n"][0], "[REDACTED:API_KEY]");
    // a value holding JSON structure, embedded structurally
    let r = redactor("a\",\"b\":\"c");
    let out = red(&r, b"{\"x\":\"a\",\"b\":\"c\"}", Mode::Auto);
    let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
    assert!(
        !String::from_utf8_lossy(&out).contains("a\",\"b\":\"c"),
        "{v}"
    );
}

#[test]
fn plain_lines_and_non_json() {
    let r = redactor(CANARY);
    let line = format!("error: token {CANARY} rejected\n");
    let out = red(&r, line.as_bytes(), Mode::Plain);
    assert_eq!(out, b"error: token [REDACTED:API_KEY] rejected\n");
    let out = red(&r, line.as_bytes(), Mode::Auto);
    assert_eq!(out, b"error: token [REDACTED:API_KEY] rejected\n");
    // an escaped spelling in a plain line (a pretty-printed JSON fragment)
    let line = format!(
        "  \"token\": {},\n",
        json_string(CANARY, Json::Arbitrary(3))
    );
    let out = red(&r, line.as_bytes(), Mode::Auto);
    assert_eq!(out, b"  \"token\": \"[REDACTED:API_KEY]\",\n");
}

#[test]
fn multi_line_values_are_caught_line_by_line_and_whole_in_json() {
    let pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END KEY-----\n";
    let r = redactor(pem);
    let out = red(
        &r,
        b"stderr: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n",
        Mode::Plain,
    );
    assert_eq!(out, b"stderr: [REDACTED:API_KEY]\n");
    let out = red(&r, &json_line(pem), Mode::Auto);
    assert_eq!(text_of(&out), "[REDACTED:API_KEY]");
}

#[test]
fn labels_are_json_safe_at_any_depth() {
    let (r, _) = Redactor::new(&[(
        "we\"ird\nname\\".into(),
        SecretValue::from_slice(b"abcdefgh"),
    )]);
    let out = red(&r, b"{\"a\":\"abcdefgh\"}", Mode::Auto);
    let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
    assert_eq!(v["a"], "[REDACTED:we?ird?name?]");
    let out = red(&r, b"abcdefgh\n", Mode::Plain);
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
}

#[test]
fn trailing_newline_in_value_never_eats_the_frame() {
    let r = redactor("abcdefgh\n");
    let out = red(&r, b"{\"a\":\"abcdefgh\"}\n", Mode::Auto);
    assert!(out.ends_with(b"\n"));
    let out = red(&r, b"abcdefgh\n", Mode::Plain);
    assert_eq!(out, b"[REDACTED:API_KEY]\n");
    let out = red(&r, b"abcdefgh\r\n", Mode::Plain);
    assert_eq!(out, b"[REDACTED:API_KEY]\r\n");
}

#[test]
fn no_match_means_untouched() {
    let r = redactor(CANARY);
    let mut out = b"keep".to_vec();
    assert!(!r.redact(
        b"{\"a\":\"nothing here\\n\\u0041 %41\"}\n",
        Mode::Auto,
        &mut out
    ));
    assert_eq!(out, b"keep");
}

#[test]
fn views_are_bounded_on_hostile_lines() {
    let r = redactor(CANARY);
    // deep stacking, many escapes and percents: finishes, and finds nothing
    let mut s = String::from("x");
    for _ in 0..12 {
        s = json_string(&format!("{s}%25%41\\"), Json::Minimal);
    }
    let line = format!("{{\"a\":{s}}}\n");
    let mut out = Vec::new();
    assert!(!r.redact(line.as_bytes(), Mode::Auto, &mut out));
}

// ---------------------------------------------------------------- property

fn secret_strategy() -> impl Strategy<Value = String> {
    let ascii = "[ -~]{8,70}";
    let mixed = proptest::collection::vec(
        prop_oneof![
            4 => proptest::char::range('!', '~'),
            1 => Just(' '),
            1 => prop_oneof![Just('é'), Just('ß'), Just('Ж'), Just('中'), Just('🔑'), Just('\u{2028}')],
            1 => prop_oneof![Just('<'), Just('>'), Just('&'), Just('='), Just('\''), Just('"'), Just('\\'), Just('/')],
        ],
        8..60,
    )
    .prop_map(|v| v.into_iter().collect::<String>());
    prop_oneof![ascii.prop_map(String::from), mixed]
}

#[derive(Debug, Clone)]
enum Emit {
    Json(Json),
    Stacked(Json, Json),
    TextInJson(Text, Json),
    /// A binary/URL spelling inside JSON text inside a JSON string.
    TextStacked(Text, Json, Json),
    TextOnStderr(Text),
}

fn emit_strategy() -> impl Strategy<Value = Emit> {
    let json = (0..JSON_STYLES.len(), any::<u64>()).prop_map(|(i, seed)| match JSON_STYLES[i] {
        Json::Arbitrary(_) => Json::Arbitrary(seed),
        s => s,
    });
    let text = (0..TEXT_STYLES.len()).prop_map(|i| TEXT_STYLES[i]);
    prop_oneof![
        json.clone().prop_map(Emit::Json),
        (json.clone(), json.clone()).prop_map(|(a, b)| Emit::Stacked(a, b)),
        (text.clone(), json.clone()).prop_map(|(t, j)| Emit::TextInJson(t, j)),
        (text.clone(), json.clone(), json).prop_map(|(t, a, b)| Emit::TextStacked(t, a, b)),
        text.prop_map(Emit::TextOnStderr),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    /// Random values, spelled by every producer style around random text,
    /// never come out readable.
    #[test]
    fn no_producer_spelling_leaks(secret in secret_strategy(), emit in emit_strategy(),
                                  pre in "[a-z :=]{0,12}", nl in any::<bool>()) {
        let stored = if nl { format!("{secret}\n") } else { secret.clone() };
        prop_assume!(secret.trim_end_matches(['\n', '\r']).len() >= MIN_SECRET_LEN);
        let r = redactor(&stored);
        let payload = format!("{pre}{secret} tail");
        let out: Vec<u8> = match emit {
            Emit::Json(s) => red(&r, &styled_line(&payload, s), Mode::Json),
            Emit::Stacked(a, b) => {
                let inner = format!("{{\"k\":{}}}", json_string(&payload, a));
                red(&r, &styled_line(&inner, b), Mode::Json)
            }
            Emit::TextInJson(t, j) => {
                red(&r, &styled_line(&producers::text(payload.as_bytes(), t), j), Mode::Json)
            }
            Emit::TextStacked(t, a, b) => {
                let inner = format!("{{\"k\":{}}}", json_string(&producers::text(payload.as_bytes(), t), a));
                red(&r, &styled_line(&inner, b), Mode::Json)
            }
            Emit::TextOnStderr(t) => {
                let text = producers::text(payload.as_bytes(), t) + "\n";
                text.split_inclusive('\n').flat_map(|l| red(&r, l.as_bytes(), Mode::Auto)).collect()
            }
        };
        prop_assert!(!leaks(&out, secret.as_bytes()), "leaked: {}", String::from_utf8_lossy(&out));
        if out.first() == Some(&b'{') {
            prop_assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
        }
    }
}

fn sorted(mut spans: Vec<Span>) -> Vec<(usize, usize, u32)> {
    let mut v: Vec<_> = spans.drain(..).map(|s| (s.start, s.end, s.label)).collect();
    v.sort_unstable();
    v
}

#[test]
fn the_fallback_search_finds_every_overlapping_match_the_automaton_finds() {
    // Overlapping values: one's end is another's start, and one repeats itself.
    let secrets = [
        ("A", "abcdefgh12345678"),
        ("B", "12345678ijklmnop"),
        ("C", "zzzzzzzzzzzzzzzz"),
    ];
    let pairs: Vec<_> = secrets
        .iter()
        .map(|(n, v)| (n.to_string(), SecretValue::from_slice(v.as_bytes())))
        .collect();
    let r = Redactor::new(&pairs).0;
    let text = b"x abcdefgh12345678ijklmnop y zzzzzzzzzzzzzzzzzzz z abcdefgh12345678";
    let fast = sorted(r.find_all(text));
    assert!(fast.len() >= 6, "{fast:?}");
    assert_eq!(sorted(r.find_all_each(text)), fast);
}

#[test]
fn more_values_than_the_packed_searcher_takes_are_all_redacted() {
    // 200 values make well over 128 patterns: the any-match test is then the
    // leftmost-first automaton instead of the packed searcher.
    let pairs: Vec<_> = (0..200)
        .map(|i| {
            let v = format!("value-{i:04}-{}", "q".repeat(12));
            (format!("K{i}"), SecretValue::from_slice(v.as_bytes()))
        })
        .collect();
    let r = Redactor::new(&pairs).0;
    assert!(matches!(r.fast, Some(Fast::Automaton(_))));
    for i in [0, 77, 199] {
        let v = format!("value-{i:04}-{}", "q".repeat(12));
        let out = red(&r, &json_line(&format!("see {v} here")), Mode::Json);
        assert!(!out.windows(v.len()).any(|w| w == v.as_bytes()), "{i}");
        assert!(text_of(&out).contains(&format!("[REDACTED:K{i}]")));
    }
}

#[test]
fn without_any_automaton_values_are_still_redacted() {
    // What happens if neither automaton can be built: the slow search, not none.
    let mut r = redactor(CANARY);
    r.fast = Some(Fast::Each);
    r.ac = OnceLock::from(None);
    let out = red(&r, &json_line(&format!("x {CANARY} y")), Mode::Json);
    let text = text_of(&out);
    assert!(text.contains("[REDACTED:API_KEY]"), "{text}");
    assert!(!text.contains("s3cr3t-Canary"), "{text}");
    assert!(!r.matches(b"nothing to see"));
}
