//! Checks the embedded EFA instance table against AWS's DescribeInstanceTypes data as bundled
//! with moto (scripts/test extracts it and points RDMABENCH_MOTO_INSTANCE_TYPES at it).

use rdmabench_infra::instances::{Accelerator, Arch, EFA_INSTANCE_TYPES};
use serde_json::Value;

#[test]
fn embedded_instance_table_matches_aws_data() {
    let Some(path) = std::env::var_os("RDMABENCH_MOTO_INSTANCE_TYPES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must provide RDMABENCH_MOTO_INSTANCE_TYPES (scripts/test extracts it from moto)"
        );
        eprintln!("skipping: RDMABENCH_MOTO_INSTANCE_TYPES not set (scripts/test sets it)");
        return;
    };
    let data: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for t in EFA_INSTANCE_TYPES {
        let aws = &data[t.name];
        assert!(aws.is_object(), "{} is not in the AWS data", t.name);
        let network = &aws["NetworkInfo"];
        assert_eq!(network["EfaSupported"], true, "{}", t.name);
        assert_eq!(
            network["MaximumNetworkCards"].as_u64(),
            Some(u64::from(t.network_cards)),
            "{}",
            t.name
        );
        assert_eq!(
            network["EfaInfo"]["MaximumEfaInterfaces"].as_u64(),
            Some(u64::from(t.network_cards)),
            "{}: one EFA interface per card",
            t.name
        );
        assert_eq!(
            aws["VCpuInfo"]["DefaultVCpus"].as_u64(),
            Some(u64::from(t.vcpus)),
            "{}",
            t.name
        );
        assert_eq!(
            aws["MemoryInfo"]["SizeInMiB"].as_u64(),
            Some(t.memory_mib),
            "{}",
            t.name
        );
        let arch = match t.arch {
            Arch::Arm64 => "arm64",
            Arch::X86_64 => "x86_64",
        };
        assert!(
            aws["ProcessorInfo"]["SupportedArchitectures"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == arch),
            "{}",
            t.name
        );
        let nvidia = aws["GpuInfo"]["Gpus"]
            .as_array()
            .is_some_and(|g| g.iter().any(|gpu| gpu["Manufacturer"] == "NVIDIA"));
        let neuron = aws.get("NeuronInfo").is_some();
        let expected = match (nvidia, neuron) {
            (true, _) => Accelerator::Nvidia,
            (false, true) => Accelerator::Neuron,
            _ => Accelerator::None,
        };
        assert_eq!(t.accelerator, expected, "{}", t.name);
    }
}
