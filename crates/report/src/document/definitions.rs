//! What each tool's figures mean, so numbers from different tools never share a column
//! silently: a table under every section that holds more than one tool, each definition taken
//! from the tool's own source (named in the table).

use super::{Block, Section, Table};
use crate::collection::Metric;

/// The definition of one tool's figures for one kind of test.
struct Definition {
    tool: &'static str,
    metric: Metric,
    shown: &'static str,
    meaning: &'static str,
    source: &'static str,
}

const DEFINITIONS: &[Definition] = &[
    Definition {
        tool: "rdmabench",
        metric: Metric::Latency,
        shown: "usec; min..max, p50..p99.9",
        meaning: "usec = total time of the timed round trips / (2 x round trips), the mean half \
                  round trip (an RMA read: one whole read); percentiles from one monotonic \
                  timestamp per iteration, halved",
        source: "rdmabench docs/numbers.md, How the numbers are defined",
    },
    Definition {
        tool: "rdmabench",
        metric: Metric::Bandwidth,
        shown: "BW average, BW peak, MsgRate",
        meaning: "bytes of the timed windows / their time (MB = 10^6 B); peak = the fastest \
                  window; both directions summed when bidirectional. The series names the \
                  method: osu = osu_bw's window of sends, wait, 1-byte acknowledgement, \
                  receives re-posted before it; fabtests = bandwidth()'s window, 4-byte \
                  acknowledgement, each window's receives posted only as it begins (the \
                  sender may overrun them); perftest = ib_send_bw's sliding window of \
                  --window sends, each slot reused as its send completes, no acknowledgement \
                  until the end",
        source: "rdmabench docs/engine.md, Bandwidth methods (OSU mpi/pt2pt/osu_bw.c; \
                 fabtests/benchmarks/benchmark_shared.c bandwidth(), bw_tx_comp(), \
                 bw_rx_comp(); perftest src/perftest_resources.c run_iter_bw(), \
                 run_iter_bw_server())",
    },
    Definition {
        tool: "fi_pingpong",
        metric: Metric::Latency,
        shown: "usec",
        meaning: "usec/xfer = elapsed us / iterations / 2 (two transfers per iteration): the \
                  mean half round trip; no warm-up in fi_pingpong 1.17, so the timed region \
                  includes the first round trip",
        source: "libfabric 1.17 util/pingpong.c, show_perf() called by pingpong() with \
                 xfers_per_iter = 2",
    },
    Definition {
        tool: "perftest",
        metric: Metric::Latency,
        shown: "usec = t_avg; p50 = t_typical; min, max, p99, p99.9",
        meaning: "per-iteration times sorted with the largest few dropped (LAT_MEASURE_TAIL); \
                  t_typical is their median, t_avg their mean, both / 2 for send and write \
                  latency and whole for read latency",
        source: "perftest src/perftest_parameters.c, print_report_lat()",
    },
    Definition {
        tool: "perftest",
        metric: Metric::Bandwidth,
        shown: "BW average, BW peak, MsgRate",
        meaning: "perftest's MB/sec is 2^20 B/s (converted to bytes per second on import); \
                  --report_gbits is 10^9 bit/s",
        source: "perftest src/perftest_parameters.h (format_factor 0x100000)",
    },
    Definition {
        tool: "osu",
        metric: Metric::Latency,
        shown: "usec",
        meaning: "Latency (us) = elapsed time of the timed iterations / (2 x iterations): the \
                  mean half round trip of MPI_Send/MPI_Recv",
        source: "OSU micro-benchmarks mpi/pt2pt/osu_latency.c",
    },
    Definition {
        tool: "osu",
        metric: Metric::Bandwidth,
        shown: "BW average",
        meaning: "bytes of the windows of MPI_Isend / time, in MB/s with MB = 10^6 B",
        source: "OSU micro-benchmarks mpi/pt2pt/osu_bw.c",
    },
    Definition {
        tool: "imb",
        metric: Metric::Latency,
        shown: "usec",
        meaning: "PingPong: t[usec] = time of the repetitions / (2 x #repetitions), the mean \
                  half round trip of MPI_Send/MPI_Recv; an untimed warm-up precedes the first \
                  size of a run (-warm_up on, the default; rdmabench runs one size per run)",
        source: "IMB src_c/IMB_pingpong.c (time / n_sample) with scale_time = 0.5 \
                 (src_c/IMB_parse_name_mpi1.c); Intel MPI Benchmarks user guide, MPI-1 \
                 Benchmarks, PingPong",
    },
    Definition {
        tool: "imb",
        metric: Metric::Bandwidth,
        shown: "BW average, MsgRate",
        meaning: "Uniband: rank 0 sends windows of -window_size (64) MPI_Isend, rank 1 acks each \
                  window; Msg/sec = 64 x #repetitions / time, Mbytes/sec = Msg/sec x size / \
                  10^6 (MB = 10^6 B)",
        source: "IMB src_c/IMB_bandwidth.c, IMB_uni_bandwidth(); src_c/IMB_output.c, \
                 IMB_display_times() (MEGA = 1.0 / 1e6, msgrate = MAX_WIN_SIZE x peers / time); \
                 user guide, MPI-1 Benchmarks, Uniband",
    },
    Definition {
        tool: "netpipe",
        metric: Metric::Latency,
        shown: "usec",
        meaning: "time of a trial's repeats / repeats / 2 (one way), the lowest of its trials: \
                  the mean half round trip of the fastest trial, so at most the mean over all \
                  of them",
        source: "NetPIPE 3.7 src/netpipe.c, main loop (\"reports the lowest of the TRIALS \
                 times\")",
    },
];

/// The table of definitions for a section whose series come from more than one tool.
pub(super) fn definitions(section: &Section, out: &mut Vec<Block>) {
    let mut tools: Vec<&str> = section
        .group
        .series
        .iter()
        .map(|s| s.key.tool.as_str())
        .collect();
    tools.sort_unstable();
    tools.dedup();
    if tools.len() < 2 {
        return;
    }
    let rows: Vec<Vec<String>> = tools
        .iter()
        .map(|tool| {
            match DEFINITIONS
                .iter()
                .find(|d| d.tool == *tool && d.metric == section.metric)
            {
                Some(d) => vec![
                    d.tool.to_string(),
                    d.shown.to_string(),
                    d.meaning.to_string(),
                    d.source.to_string(),
                ],
                None => vec![
                    (*tool).to_string(),
                    "-".into(),
                    "no definition recorded for this tool and test: read its documentation \
                     before comparing"
                        .into(),
                    "-".into(),
                ],
            }
        })
        .collect();
    out.push(Block::Heading(3, "What each tool's numbers mean".into()));
    out.push(Block::Table(Table {
        headers: ["tool", "shown here as", "definition", "source"]
            .iter()
            .map(|h| (*h).to_string())
            .collect(),
        rows,
        seed_style: false,
        numeric: false,
    }));
}

#[cfg(test)]
mod tests {
    use crate::collection::LoadedRun;
    use crate::document::{Report, ReportFormat};
    use crate::format::sample;

    fn report(tools: &[&str]) -> String {
        let runs = tools
            .iter()
            .map(|tool| {
                let mut results = sample::results();
                results.tool.name = (*tool).to_string();
                LoadedRun {
                    source: format!("{tool}.json"),
                    results,
                }
            })
            .collect();
        Report::build(runs, None, crate::collection::Statistic::default())
            .unwrap()
            .render(ReportFormat::Markdown)
    }

    #[test]
    fn sections_with_several_tools_say_what_each_number_is_and_where_that_is_defined() {
        let text = report(&[
            "rdmabench",
            "fi_pingpong",
            "perftest",
            "netpipe",
            "imb",
            "iperf",
        ]);
        assert!(text.contains("### What each tool's numbers mean"), "{text}");
        assert!(
            text.contains("libfabric 1.17 util/pingpong.c, show_perf()"),
            "{text}"
        );
        assert!(text.contains("t_typical is their median"), "{text}");
        assert!(text.contains("the lowest of its trials"), "{text}");
        assert!(text.contains("IMB src_c/IMB_pingpong.c"), "{text}");
        // A tool without a recorded definition is flagged, not left blank.
        assert!(
            text.contains("| iperf | - | no definition recorded"),
            "{text}"
        );
        assert!(!report(&["rdmabench"]).contains("What each tool's numbers mean"));
    }
}
