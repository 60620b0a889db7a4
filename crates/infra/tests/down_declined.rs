//! `infra down` asks before it destroys, and a "no" (or a refusal to ask) leaves the stack, its
//! state and its record as they were. Offline: a state holding one VPC, terraform with the AWS
//! provider from the machine's filesystem mirror, no AWS call.

#[path = "support/terraform.rs"]
mod terraform_support;

use rdmabench_infra::stack::down::{down, DownOptions};
use rdmabench_infra::stack::Console;
use rdmabench_infra::state::{self, StackRecord, RECORD_SCHEMA_VERSION};
use rdmabench_infra::terraform::mirror_cli_config;
use rdmabench_infra::workspace::Workspace;
use rdmabench_infra::{InfraError, StackConfig};
use terraform_support::terraform_or_skip;

/// Answers every question with `answer` and remembers what it was asked.
struct Declining {
    answer: fn(&str) -> Result<bool, InfraError>,
    asked: Vec<String>,
}

impl Console for Declining {
    fn progress(&mut self, _line: &str) {}

    fn show(&mut self, _text: &str) {}

    fn confirm(&mut self, question: &str) -> Result<bool, InfraError> {
        self.asked.push(question.to_string());
        (self.answer)(question)
    }
}

/// A state as `terraform apply` leaves it, with one VPC in it.
const STATE: &str = r#"{
  "version": 4,
  "terraform_version": "1.5.0",
  "serial": 1,
  "lineage": "00000000-0000-0000-0000-000000000000",
  "outputs": {},
  "resources": [{
    "mode": "managed",
    "type": "aws_vpc",
    "name": "main",
    "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
    "instances": [{
      "schema_version": 1,
      "attributes": {
        "id": "vpc-0123456789abcdef0",
        "arn": "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0123456789abcdef0",
        "cidr_block": "10.0.0.0/16"
      }
    }]
  }]
}
"#;

#[test]
fn a_declined_or_refused_confirmation_destroys_nothing() {
    let Some((terraform, mirror)) = terraform_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // This test binary holds this one test: nothing else reads the state root meanwhile.
    std::env::set_var(state::STATE_DIR_ENV, dir.path().join("state"));
    // `down` refuses to start without credentials; these are resolved locally and never used:
    // nothing here reaches AWS.
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let cli_config = dir.path().join("cli.tfrc");
    std::fs::write(&cli_config, mirror_cli_config(&mirror)).unwrap();
    let terraform = terraform.with_env("TF_CLI_CONFIG_FILE", cli_config.to_str().unwrap());

    let mut config = StackConfig::default();
    // A documentation address (RFC 5737), never contacted.
    config.cluster.public_access_cidrs = vec!["203.0.113.7/32".into()];
    let workspace = Workspace::new(config.clone(), terraform);
    std::fs::create_dir_all(workspace.dir()).unwrap();
    let state_file = workspace.dir().join("terraform.tfstate");
    std::fs::write(&state_file, STATE).unwrap();
    let record = StackRecord {
        schema_version: RECORD_SCHEMA_VERSION,
        created_at: "2026-01-01T00:00:00Z".into(),
        created_at_unix: 1_767_225_600,
        ttl_minutes: 240,
        region: config.region.clone(),
        instance_type: config.nodes.instance_type.clone(),
        node_count: config.nodes.count,
        usd_per_hour: 5.45,
        price_complete: true,
    };
    state::write_record(&config.name, &record).unwrap();

    let mut no = Declining {
        answer: |_| Ok(false),
        asked: Vec::new(),
    };
    let error = down(&workspace, DownOptions::default(), &mut no).unwrap_err();
    assert!(matches!(error, InfraError::Cancelled), "{error}");
    assert_eq!(error.to_string(), "cancelled; nothing was changed");
    assert_eq!(
        no.asked,
        [format!(
            "Destroy stack '{}' in {} (1 resources)?",
            config.name, config.region
        )]
    );

    let mut nobody = Declining {
        answer: |question| {
            Err(InfraError::Refused(format!(
                "{question} Refusing without confirmation"
            )))
        },
        asked: Vec::new(),
    };
    let error = down(&workspace, DownOptions::default(), &mut nobody).unwrap_err();
    assert!(
        error.to_string().ends_with("Refusing without confirmation"),
        "{error}"
    );

    assert_eq!(std::fs::read_to_string(&state_file).unwrap(), STATE);
    assert_eq!(state::read_record(&config.name).unwrap(), Some(record));
}
