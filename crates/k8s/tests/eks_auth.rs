//! EKS authentication: the token's presigned URL against botocore's (`aws eks get-token`) and the
//! documented format, and a client whose requests keep carrying valid tokens as a fake clock
//! passes the 15-minute token life, checked by a fake API server on 127.0.0.1.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_smithy_async::time::TimeSource;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use rdmabench_k8s::client::{connect, eks_client, ClientError, ClusterAccess};
use rdmabench_k8s::eks_token::{
    EksTokenSigner, EksTokenSource, DEFAULT_REFRESH_AFTER, TOKEN_LIFETIME,
};

/// The secret key of AWS's SigV4 documentation examples.
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 2026-01-01T00:00:00Z.
const JAN_1_2026: u64 = 1_767_225_600;
const MINUTE: Duration = Duration::from_secs(60);

/// One known answer: inputs and the URL botocore 1.44.8 presigns for them.
struct Case {
    cluster: &'static str,
    region: &'static str,
    access_key: &'static str,
    session_token: Option<&'static str>,
    unix_time: u64,
    botocore_url: &'static str,
}

// The URLs were produced once with BOTOCORE_SCRIPT below (botocore 1.44.8 from
// tests/support/requirements-moto.txt): aws-cli's `eks get-token` handlers on an STS client with
// these static credentials, botocore.auth.get_current_datetime patched to the fixed time, no
// AWS config files. `botocore_agrees_live` re-runs it when RDMABENCH_MOTO_PYTHON is set.
const CASES: [Case; 3] = [
    Case {
        cluster: "rdmabench",
        region: "us-west-2",
        access_key: "AKIDEXAMPLE",
        session_token: None,
        unix_time: JAN_1_2026,
        botocore_url: "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-west-2%2Fsts%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=57ccf0974278176c5c91d81c3e618d2f13b12ddbf2c84c33773e6bb844b4be6c",
    },
    Case {
        cluster: "rdmabench-test",
        region: "eu-central-1",
        access_key: "ASIAEXAMPLE",
        session_token: Some("IQoJb3JpZ2luX2VjEXAMPLE/session+token=="),
        unix_time: JAN_1_2026 + 12 * 3600 + 34 * 60 + 56,
        botocore_url: "https://sts.eu-central-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20260101%2Feu-central-1%2Fsts%2Faws4_request&X-Amz-Date=20260101T123456Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2Fsession%2Btoken%3D%3D&X-Amz-Signature=718c0017f4c5dfc50596fc3dc252b4e28d36248ae6ba4d75a2b06dff9cd734d0",
    },
    Case {
        cluster: "rdmabench",
        region: "cn-north-1",
        access_key: "AKIDEXAMPLE",
        session_token: None,
        unix_time: JAN_1_2026,
        botocore_url: "https://sts.cn-north-1.amazonaws.com.cn/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fcn-north-1%2Fsts%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=00ca8c849e79e405eaca068a9e0e8980c9e2271f322a0ba063ee7157d2dafc3b",
    },
];

/// argv: cluster region access_key secret session_token ("" for none) unix_time.
const BOTOCORE_SCRIPT: &str = r#"
import datetime, sys
from unittest import mock
import botocore.session

cluster, region, key, secret, token, unix_time = sys.argv[1:]
sts = botocore.session.get_session().create_client(
    "sts", region_name=region, aws_access_key_id=key, aws_secret_access_key=secret,
    aws_session_token=token or None)
# The two handlers aws-cli's `eks get-token` registers (awscli/customizations/eks/get_token.py).
def retrieve(params, context, **kwargs):
    context["x-k8s-aws-id"] = params.pop("x-k8s-aws-id")
def inject(request, **kwargs):
    request.headers["x-k8s-aws-id"] = request.context["x-k8s-aws-id"]
sts.meta.events.register("provide-client-params.sts.GetCallerIdentity", retrieve)
sts.meta.events.register("before-sign.sts.GetCallerIdentity", inject)
now = datetime.datetime.fromtimestamp(int(unix_time), datetime.timezone.utc)
with mock.patch("botocore.auth.get_current_datetime", return_value=now):
    print(sts.generate_presigned_url("get_caller_identity", Params={"x-k8s-aws-id": cluster},
                                     ExpiresIn=60, HttpMethod="GET"))
"#;

impl Case {
    fn credentials(&self) -> Credentials {
        let token = self.session_token.map(str::to_string);
        Credentials::new(self.access_key, SECRET, token, None, "test")
    }

    fn time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.unix_time)
    }

    fn token(&self) -> String {
        let signer = EksTokenSigner::new(self.cluster, self.region);
        let token = signer.sign(&self.credentials(), self.time()).unwrap();
        token.as_str().to_string()
    }
}

/// The presigned URL inside a token, checking the `k8s-aws-v1.` + unpadded base64url wrapping.
fn token_url(token: &str) -> String {
    let encoded = token
        .strip_prefix("k8s-aws-v1.")
        .expect("k8s-aws-v1. prefix");
    assert!(!encoded.contains('='), "base64 must be unpadded");
    String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).expect("base64url")).unwrap()
}

/// A presigned URL taken apart, query values percent-decoded, in order.
#[derive(Debug)]
struct Presigned {
    scheme: String,
    host: String,
    path: String,
    query: Vec<(String, String)>,
}

impl Presigned {
    fn parse(url: &str) -> Presigned {
        let uri: http::Uri = url.parse().expect("URL");
        let query = uri
            .query()
            .unwrap_or_default()
            .split('&')
            .map(|pair| {
                let (name, value) = pair.split_once('=').expect("name=value");
                (name.to_string(), percent_decode(value))
            })
            .collect();
        Presigned {
            scheme: uri.scheme_str().unwrap_or_default().to_string(),
            host: uri.host().unwrap_or_default().to_string(),
            path: uri.path().to_string(),
            query,
        }
    }

    fn param(&self, name: &str) -> Option<&str> {
        let mut values = self.query.iter().filter(|(n, _)| n == name);
        let value = values.next().map(|(_, v)| v.as_str());
        assert!(values.next().is_none(), "{name} appears twice");
        value
    }

    fn date(&self) -> SystemTime {
        parse_amz_date(self.param("X-Amz-Date").expect("X-Amz-Date"))
    }
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// `YYYYMMDDTHHMMSSZ` (SigV4's basic ISO 8601) to a time, by the days-from-civil algorithm.
fn parse_amz_date(date: &str) -> SystemTime {
    assert!(
        date.len() == 16 && &date[8..9] == "T" && date.ends_with('Z'),
        "{date}"
    );
    let num = |range: std::ops::Range<usize>| date[range].parse::<i64>().expect("digits");
    let (year, month, day) = (num(0..4), num(4..6), num(6..8));
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + num(9..11) * 3600 + num(11..13) * 60 + num(13..15);
    UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).unwrap())
}

/// What the API server (aws-iam-authenticator, pkg/token) checks before asking STS, at `now`;
/// the signature itself only STS can check (the botocore known answers cover it here).
fn verify(token: &str, region: &str, now: SystemTime) -> Result<(), String> {
    const ALLOWED: [&str; 9] = [
        "Action",
        "Version",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
    ];
    let url = Presigned::parse(&token_url(token));
    if url.scheme != "https" || url.host != format!("sts.{region}.amazonaws.com") {
        return Err(format!("unexpected STS URL {}://{}", url.scheme, url.host));
    }
    if url.path != "/" {
        return Err("unexpected path".into());
    }
    if let Some((name, _)) = url
        .query
        .iter()
        .find(|(n, _)| !ALLOWED.contains(&n.as_str()))
    {
        return Err(format!("non-whitelisted query parameter {name}"));
    }
    if url.param("Action") != Some("GetCallerIdentity") {
        return Err("unexpected action".into());
    }
    let signed = url.param("X-Amz-SignedHeaders").unwrap_or_default();
    if !signed.split(';').any(|h| h == "x-k8s-aws-id") {
        return Err("x-k8s-aws-id is not signed".into());
    }
    let expires: u64 = url
        .param("X-Amz-Expires")
        .unwrap_or("x")
        .parse()
        .map_err(|_| "X-Amz-Expires")?;
    if expires > 900 {
        return Err("X-Amz-Expires out of range".into());
    }
    let date = url.date();
    if now > date + TOKEN_LIFETIME {
        return Err(format!(
            "X-Amz-Date is expired ({:?} old)",
            now.duration_since(date).unwrap()
        ));
    }
    if date > now {
        return Err("X-Amz-Date is in the future".into());
    }
    Ok(())
}

#[test]
fn presigned_url_matches_botocore() {
    for case in &CASES {
        assert_eq!(
            token_url(&case.token()),
            case.botocore_url,
            "{}",
            case.region
        );
    }
}

#[test]
fn botocore_agrees_live() {
    let python = std::env::var_os("RDMABENCH_MOTO_PYTHON").map(PathBuf::from);
    let python = match python {
        Some(p) if p.exists() => p,
        other => {
            assert!(
                std::env::var_os("RDMABENCH_REQUIRE_MOTO").is_none(),
                "RDMABENCH_REQUIRE_MOTO is set but RDMABENCH_MOTO_PYTHON ({other:?}) is not a python with botocore; run scripts/test, which creates it with scripts/python-venv"
            );
            eprintln!("SKIPPED: no botocore (set RDMABENCH_MOTO_PYTHON to the moto venv's python)");
            return;
        }
    };
    for case in &CASES {
        let unix_time = case.unix_time.to_string();
        let output = Command::new(&python)
            .args([
                "-c",
                BOTOCORE_SCRIPT,
                case.cluster,
                case.region,
                case.access_key,
                SECRET,
            ])
            .args([case.session_token.unwrap_or_default(), unix_time.as_str()])
            // No profile, region or endpoint override from this machine may leak in.
            .env_clear()
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .output()
            .expect("running botocore");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let botocore = String::from_utf8(output.stdout).unwrap();
        assert_eq!(token_url(&case.token()), botocore.trim(), "{}", case.region);
    }
}

#[test]
fn presigned_url_has_the_documented_form() {
    for case in &CASES {
        let token = case.token();
        let url = Presigned::parse(&token_url(&token));
        let suffix = if case.region.starts_with("cn-") {
            ".cn"
        } else {
            ""
        };
        assert_eq!(url.scheme, "https");
        assert_eq!(
            url.host,
            format!("sts.{}.amazonaws.com{suffix}", case.region)
        );
        assert_eq!(url.path, "/");
        assert_eq!(url.param("Action"), Some("GetCallerIdentity"));
        assert_eq!(url.param("Version"), Some("2011-06-15"));
        assert_eq!(url.param("X-Amz-Algorithm"), Some("AWS4-HMAC-SHA256"));
        let scope = format!(
            "{}/20260101/{}/sts/aws4_request",
            case.access_key, case.region
        );
        assert_eq!(url.param("X-Amz-Credential"), Some(scope.as_str()));
        assert_eq!(url.date(), case.time());
        assert_eq!(url.param("X-Amz-Expires"), Some("60"));
        assert_eq!(url.param("X-Amz-SignedHeaders"), Some("host;x-k8s-aws-id"));
        assert_eq!(url.param("X-Amz-Security-Token"), case.session_token);
        let signature = url.param("X-Amz-Signature").unwrap();
        assert!(signature.len() == 64 && signature.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(url.query.last().unwrap().0, "X-Amz-Signature");
        assert!(
            token.len() <= 4096,
            "aws-iam-authenticator rejects tokens over 4 KiB"
        );
    }
}

#[test]
fn token_expires_with_sts_or_its_credentials() {
    let case = &CASES[0];
    let signer = EksTokenSigner::new(case.cluster, case.region);
    let token = signer.sign(&case.credentials(), case.time()).unwrap();
    assert_eq!(token.signed_at(), case.time());
    assert_eq!(token.expires_at(), case.time() + TOKEN_LIFETIME);
    assert!(
        !format!("{token:?}").contains("k8s-aws-v1"),
        "Debug must not show the token"
    );
    let short = Credentials::new(
        "AKIDEXAMPLE",
        SECRET,
        None,
        Some(case.time() + 5 * MINUTE),
        "test",
    );
    let token = signer.sign(&short, case.time()).unwrap();
    assert_eq!(token.expires_at(), case.time() + 5 * MINUTE);
}

/// A clock the test moves by hand, shared by the token source and the fake API server.
#[derive(Debug, Clone)]
struct FakeClock(Arc<Mutex<SystemTime>>);

impl FakeClock {
    fn at(time: SystemTime) -> FakeClock {
        FakeClock(Arc::new(Mutex::new(time)))
    }

    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl TimeSource for FakeClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

fn source(clock: &FakeClock, credentials: impl ProvideCredentials + 'static) -> EksTokenSource {
    let signer = EksTokenSigner::new(CASES[0].cluster, CASES[0].region);
    EksTokenSource::new(signer, credentials, clock.clone(), DEFAULT_REFRESH_AFTER)
}

#[tokio::test]
async fn source_reuses_a_token_until_the_refresh_age() {
    let start = CASES[0].time();
    let clock = FakeClock::at(start);
    let tokens = source(&clock, CASES[0].credentials());
    let first = tokens.token().await.unwrap();
    clock.advance(DEFAULT_REFRESH_AFTER - Duration::from_secs(1));
    assert_eq!(tokens.token().await.unwrap().as_str(), first.as_str());
    clock.advance(Duration::from_secs(1));
    let second = tokens.token().await.unwrap();
    assert_eq!(second.signed_at(), start + DEFAULT_REFRESH_AFTER);
    assert_ne!(second.as_str(), first.as_str());

    // Credentials that expire soon: stop reusing a minute before they do.
    let clock = FakeClock::at(start);
    let expiry = start + 3 * MINUTE;
    let tokens = source(
        &clock,
        Credentials::new("AKIDEXAMPLE", SECRET, None, Some(expiry), "t"),
    );
    let first = tokens.token().await.unwrap();
    clock.advance(2 * MINUTE - Duration::from_secs(1));
    assert_eq!(tokens.token().await.unwrap().as_str(), first.as_str());
    clock.advance(Duration::from_secs(1));
    assert_ne!(tokens.token().await.unwrap().as_str(), first.as_str());
}

#[derive(Debug)]
struct NoCredentials;

impl ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
            "no providers in chain provided credentials",
        )))
    }
}

#[tokio::test]
async fn missing_credentials_fail_at_connect_and_say_what_to_do() {
    let clock = FakeClock::at(CASES[0].time());
    let Err(error) = eks_client("http://127.0.0.1:1", None, source(&clock, NoCredentials)).await
    else {
        panic!("a client without credentials");
    };
    assert!(matches!(error, ClientError::Token(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("no providers in chain"), "{message}");
    assert!(
        message.contains("configure credentials as for the AWS CLI"),
        "{message}"
    );
}

/// A fake Kubernetes API on 127.0.0.1 that serves `GET /api/v1/namespaces/default` to requests
/// whose bearer token passes [`verify`] at the fake clock's time, answers 401 otherwise, and
/// records every Authorization header.
struct FakeApi {
    url: String,
    authorizations: Arc<Mutex<Vec<String>>>,
}

impl FakeApi {
    fn start(clock: FakeClock, region: &'static str) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let authorizations = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&authorizations);
        // The thread ends with the test process; the listener is only reachable from here.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                serve(stream.unwrap(), &clock, region, &seen);
            }
        });
        FakeApi {
            url,
            authorizations,
        }
    }

    fn authorizations(&self) -> Vec<String> {
        self.authorizations.lock().unwrap().clone()
    }
}

/// One request per connection (the answer says `Connection: close`).
fn serve(stream: TcpStream, clock: &FakeClock, region: &str, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let mut authorization = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("authorization") {
                authorization = Some(value.trim().to_string());
            }
        }
    }
    let token = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "));
    seen.lock()
        .unwrap()
        .push(authorization.clone().unwrap_or_default());
    let verdict = match token {
        Some(token) => verify(token, region, clock.now()),
        None => Err("no bearer token".to_string()),
    };
    let (status, body) = match (
        request_line.starts_with("GET /api/v1/namespaces/default "),
        verdict,
    ) {
        (true, Ok(())) => (
            "200 OK",
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"default"}}"#.to_string(),
        ),
        (false, Ok(())) => ("404 Not Found", status_json(404, "NotFound", "not faked")),
        (_, Err(reason)) => (
            "401 Unauthorized",
            status_json(401, "Unauthorized", &reason),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    (&stream).write_all(response.as_bytes()).unwrap();
}

fn status_json(code: u16, reason: &str, message: &str) -> String {
    serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    })
    .to_string()
}

#[tokio::test]
async fn client_refreshes_tokens_across_a_long_run() {
    let start = CASES[0].time();
    let clock = FakeClock::at(start);
    let api = FakeApi::start(clock.clone(), CASES[0].region);
    let client = eks_client(&api.url, None, source(&clock, CASES[0].credentials()))
        .await
        .unwrap();
    let namespaces: Api<Namespace> = Api::all(client);

    namespaces.get("default").await.unwrap();
    clock.advance(5 * MINUTE);
    namespaces.get("default").await.unwrap();
    // 16 minutes in: the first token is past its life, and the server would refuse it.
    clock.advance(11 * MINUTE);
    namespaces.get("default").await.unwrap();

    let seen = api.authorizations();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(
        seen[0], seen[1],
        "a token younger than the refresh age is reused"
    );
    assert_ne!(seen[1], seen[2], "an old token is replaced");
    let token = |header: &str| header.strip_prefix("Bearer ").unwrap().to_string();
    let dates: Vec<SystemTime> = seen
        .iter()
        .map(|h| Presigned::parse(&token_url(&token(h))).date())
        .collect();
    assert_eq!(dates, [start, start, start + 16 * MINUTE]);
    let refused = verify(&token(&seen[0]), CASES[0].region, clock.now()).unwrap_err();
    assert!(refused.contains("expired"), "{refused}");
}

#[tokio::test]
async fn fake_api_refuses_an_expired_token() {
    let clock = FakeClock::at(CASES[0].time());
    let api = FakeApi::start(clock.clone(), CASES[0].region);
    let kubeconfig = tempfile::NamedTempFile::new().unwrap();
    // A kubeconfig with a static EKS token: it works until the clock passes its 15 minutes.
    let config = serde_json::json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": api.url}}],
        "users": [{"name": "fake", "user": {"token": CASES[0].token()}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
    });
    std::fs::write(kubeconfig.path(), config.to_string()).unwrap();
    // The only test that reads KUBECONFIG.
    std::env::set_var("KUBECONFIG", kubeconfig.path());

    let missing = ClusterAccess::Kubeconfig {
        context: Some("missing".into()),
    };
    let Err(error) = connect(&missing).await else {
        panic!("a client for a missing context");
    };
    let error = error.to_string();
    assert!(
        error.contains("\"missing\"") && error.contains("KUBECONFIG"),
        "{error}"
    );

    let fake = ClusterAccess::Kubeconfig {
        context: Some("fake".into()),
    };
    let namespaces: Api<Namespace> = Api::all(connect(&fake).await.unwrap());
    namespaces.get("default").await.unwrap();
    clock.advance(TOKEN_LIFETIME + Duration::from_secs(1));
    let error = namespaces.get("default").await.unwrap_err();
    assert!(
        matches!(&error, kube::Error::Api(status) if status.code == 401),
        "{error:?}"
    );
}
