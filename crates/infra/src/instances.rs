//! Embedded table of the EFA-capable EC2 instance types rdmabench can deploy.
//!
//! The table is compiled in so that `synth` works offline and rejects a
//! non-EFA instance type before any AWS API call is made. The synthesizer
//! uses it to create one EFA network interface per network card and to pick
//! the EKS AMI type (AL2023 ARM / x86 / NVIDIA / Neuron).
//!
//! Values are taken from AWS `DescribeInstanceTypes` output as bundled with
//! moto 5.2.5 (`moto/ec2/resources/instance_types.json.gz`; identical for
//! these types in moto 5.1.22): `VCpuInfo.DefaultVCpus`,
//! `MemoryInfo.SizeInMiB`, `NetworkInfo.MaximumNetworkCards`,
//! `ProcessorInfo.SupportedArchitectures`, `GpuInfo` and `NeuronInfo`, for
//! entries with `NetworkInfo.EfaSupported == true`. A test checks the table
//! against that file.

use rdmabench_report::tables::{self, Align};

/// CPU architecture of an instance type, which decides the AMI and the image platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// AWS Graviton (`arm64` in `DescribeInstanceTypes`).
    Arm64,
    /// Intel or AMD (`x86_64` in `DescribeInstanceTypes`).
    X86_64,
}

/// Accelerators that need a different EKS AMI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accelerator {
    /// No accelerator: the standard AMI is enough.
    None,
    /// NVIDIA GPUs (`GpuInfo`): needs the NVIDIA AMI with drivers.
    Nvidia,
    /// AWS Trainium/Inferentia (`NeuronInfo`): needs the Neuron AMI with drivers.
    Neuron,
}

/// One EFA-capable instance type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceType {
    /// EC2 instance type name, e.g. `m7g.16xlarge`.
    pub name: &'static str,
    /// CPU architecture; decides AMI type and image platform.
    pub arch: Arch,
    /// Default vCPU count, used to size benchmark pods.
    pub vcpus: u32,
    /// Memory in MiB, used to size benchmark pods.
    pub memory_mib: u64,
    /// Network cards; one EFA interface per card.
    pub network_cards: u32,
    /// Accelerator kind; decides the EKS AMI type.
    pub accelerator: Accelerator,
}

/// Builds a table entry; keeps the table one line per type.
const fn entry(
    name: &'static str,
    arch: Arch,
    vcpus: u32,
    memory_mib: u64,
    network_cards: u32,
    accelerator: Accelerator,
) -> InstanceType {
    InstanceType {
        name,
        arch,
        vcpus,
        memory_mib,
        network_cards,
        accelerator,
    }
}

/// Every EFA-capable type rdmabench knows, sorted by name.
///
/// Sorted so that [`lookup`] can binary-search; a test enforces the order.
#[rustfmt::skip]
pub const EFA_INSTANCE_TYPES: &[InstanceType] = &[
    //    name              arch          vCPUs MiB      cards accelerator
    entry("c5n.18xlarge",   Arch::X86_64, 72,  196608,  1,  Accelerator::None),
    entry("c5n.metal",      Arch::X86_64, 72,  196608,  1,  Accelerator::None),
    entry("c6gn.16xlarge",  Arch::Arm64,  64,  131072,  1,  Accelerator::None),
    entry("c6i.32xlarge",   Arch::X86_64, 128, 262144,  1,  Accelerator::None),
    entry("c6in.32xlarge",  Arch::X86_64, 128, 262144,  2,  Accelerator::None),
    entry("c7g.16xlarge",   Arch::Arm64,  64,  131072,  1,  Accelerator::None),
    entry("c7gn.16xlarge",  Arch::Arm64,  64,  131072,  1,  Accelerator::None),
    entry("c7i.48xlarge",   Arch::X86_64, 192, 393216,  1,  Accelerator::None),
    entry("c8g.24xlarge",   Arch::Arm64,  96,  196608,  1,  Accelerator::None),
    entry("g5.48xlarge",    Arch::X86_64, 192, 786432,  1,  Accelerator::Nvidia),
    entry("g6.48xlarge",    Arch::X86_64, 192, 786432,  1,  Accelerator::Nvidia),
    entry("hpc6a.48xlarge", Arch::X86_64, 96,  393216,  1,  Accelerator::None),
    entry("hpc7a.96xlarge", Arch::X86_64, 192, 786432,  2,  Accelerator::None),
    entry("hpc7g.16xlarge", Arch::Arm64,  64,  131072,  1,  Accelerator::None),
    entry("m6i.32xlarge",   Arch::X86_64, 128, 524288,  1,  Accelerator::None),
    entry("m7g.16xlarge",   Arch::Arm64,  64,  262144,  1,  Accelerator::None),
    entry("m7g.metal",      Arch::Arm64,  64,  262144,  1,  Accelerator::None),
    entry("m7i.48xlarge",   Arch::X86_64, 192, 786432,  1,  Accelerator::None),
    entry("m8g.24xlarge",   Arch::Arm64,  96,  393216,  1,  Accelerator::None),
    entry("p4d.24xlarge",   Arch::X86_64, 96,  1179648, 4,  Accelerator::Nvidia),
    entry("p5.48xlarge",    Arch::X86_64, 192, 2097152, 32, Accelerator::Nvidia),
    entry("r7g.16xlarge",   Arch::Arm64,  64,  524288,  1,  Accelerator::None),
    entry("r7i.48xlarge",   Arch::X86_64, 192, 1572864, 1,  Accelerator::None),
    entry("trn1.32xlarge",  Arch::X86_64, 128, 524288,  8,  Accelerator::Neuron),
];

/// Looks up an EFA-capable type by exact name.
///
/// Returns `None` for types that are unknown or lack EFA, so the caller can
/// reject them before talking to AWS.
#[must_use]
pub fn lookup(name: &str) -> Option<&'static InstanceType> {
    EFA_INSTANCE_TYPES
        .binary_search_by(|t| t.name.cmp(name))
        .ok()
        .map(|i| &EFA_INSTANCE_TYPES[i])
}

impl InstanceType {
    /// The EKS managed node group AMI type for this instance, so that nodes
    /// boot with the right architecture and accelerator drivers.
    ///
    /// EKS has no arm64 Neuron AMI (and AWS sells no such instance); that
    /// combination falls back to `AL2023_ARM_64_STANDARD`.
    #[must_use]
    pub fn ami_type(&self) -> &'static str {
        match (self.arch, self.accelerator) {
            (Arch::Arm64, Accelerator::None | Accelerator::Neuron) => "AL2023_ARM_64_STANDARD",
            (Arch::Arm64, Accelerator::Nvidia) => "AL2023_ARM_64_NVIDIA",
            (Arch::X86_64, Accelerator::None) => "AL2023_x86_64_STANDARD",
            (Arch::X86_64, Accelerator::Nvidia) => "AL2023_x86_64_NVIDIA",
            (Arch::X86_64, Accelerator::Neuron) => "AL2023_x86_64_NEURON",
        }
    }

    /// Docker platform string for images that run on it, so images are
    /// built for the nodes' architecture.
    #[must_use]
    pub fn platform(&self) -> &'static str {
        match self.arch {
            Arch::Arm64 => "linux/arm64",
            Arch::X86_64 => "linux/amd64",
        }
    }
}

/// `infra instance-types`: every known type as an aligned table, so users can pick one with
/// the EFA interface count and AMI they need.
pub fn table() -> String {
    let rows: Vec<Vec<String>> = EFA_INSTANCE_TYPES
        .iter()
        .map(|t| {
            let arch = match t.arch {
                Arch::Arm64 => "arm64",
                Arch::X86_64 => "x86_64",
            };
            let accelerator = match t.accelerator {
                Accelerator::None => "-",
                Accelerator::Nvidia => "nvidia",
                Accelerator::Neuron => "neuron",
            };
            vec![
                t.name.to_string(),
                arch.to_string(),
                t.vcpus.to_string(),
                (t.memory_mib / 1024).to_string(),
                t.network_cards.to_string(),
                accelerator.to_string(),
                t.ami_type().to_string(),
            ]
        })
        .collect();
    tables::text(
        &[
            "instance_type",
            "arch",
            "vcpus",
            "memory_gib",
            "efa_interfaces",
            "accelerator",
            "ami_type",
        ],
        &rows,
        |i| match i {
            2..=4 => Align::Right,
            _ => Align::Left,
        },
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(arch: Arch, accelerator: Accelerator) -> InstanceType {
        entry("fake", arch, 1, 1, 1, accelerator)
    }

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in EFA_INSTANCE_TYPES.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} must sort strictly before {}",
                pair[0].name,
                pair[1].name
            );
        }
    }

    #[test]
    fn table_values_are_sane() {
        for t in EFA_INSTANCE_TYPES {
            assert!(t.vcpus > 0 && t.memory_mib > 0, "{}", t.name);
            assert!(t.network_cards >= 1, "{}", t.name);
            assert!(
                !(t.arch == Arch::Arm64 && t.accelerator == Accelerator::Neuron),
                "{}: no EKS AMI for arm64 Neuron",
                t.name
            );
        }
    }

    #[test]
    fn lookup_finds_every_entry() {
        for t in EFA_INSTANCE_TYPES {
            assert_eq!(lookup(t.name), Some(t));
        }
    }

    #[test]
    fn lookup_rejects_non_efa_and_unknown() {
        assert_eq!(lookup("t3.micro"), None);
        assert_eq!(lookup("m7g.large"), None);
        assert_eq!(lookup(""), None);
        assert_eq!(lookup("M7G.16XLARGE"), None);
    }

    #[test]
    fn m7g_16xlarge() {
        let t = lookup("m7g.16xlarge").unwrap();
        assert_eq!(t.network_cards, 1);
        assert_eq!(t.arch, Arch::Arm64);
        assert_eq!(t.vcpus, 64);
        assert_eq!(t.accelerator, Accelerator::None);
        assert_eq!(t.ami_type(), "AL2023_ARM_64_STANDARD");
        assert_eq!(t.platform(), "linux/arm64");
    }

    #[test]
    fn p5_48xlarge() {
        let t = lookup("p5.48xlarge").unwrap();
        assert_eq!(t.network_cards, 32);
        assert_eq!(t.accelerator, Accelerator::Nvidia);
        assert_eq!(t.arch, Arch::X86_64);
        assert_eq!(t.ami_type(), "AL2023_x86_64_NVIDIA");
        assert_eq!(t.platform(), "linux/amd64");
    }

    #[test]
    fn c6in_32xlarge_has_two_cards() {
        assert_eq!(lookup("c6in.32xlarge").unwrap().network_cards, 2);
    }

    #[test]
    fn trn1_uses_neuron_ami() {
        assert_eq!(
            lookup("trn1.32xlarge").unwrap().ami_type(),
            "AL2023_x86_64_NEURON"
        );
    }

    #[test]
    fn ami_type_mapping() {
        let cases = [
            (Arch::Arm64, Accelerator::None, "AL2023_ARM_64_STANDARD"),
            (Arch::Arm64, Accelerator::Nvidia, "AL2023_ARM_64_NVIDIA"),
            (Arch::Arm64, Accelerator::Neuron, "AL2023_ARM_64_STANDARD"),
            (Arch::X86_64, Accelerator::None, "AL2023_x86_64_STANDARD"),
            (Arch::X86_64, Accelerator::Nvidia, "AL2023_x86_64_NVIDIA"),
            (Arch::X86_64, Accelerator::Neuron, "AL2023_x86_64_NEURON"),
        ];
        for (arch, acc, want) in cases {
            assert_eq!(fake(arch, acc).ami_type(), want, "{arch:?}/{acc:?}");
        }
    }

    #[test]
    fn platform_mapping() {
        assert_eq!(
            fake(Arch::Arm64, Accelerator::None).platform(),
            "linux/arm64"
        );
        assert_eq!(
            fake(Arch::X86_64, Accelerator::None).platform(),
            "linux/amd64"
        );
    }
}
