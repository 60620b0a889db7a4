//! What perftest and fabtests users bring with them: the short flags (docs/usage.md's table),
//! and shell completions and man pages generated from the options.

#[path = "support/cli.rs"]
mod cli;

use std::process::{Command, Output};

use cli::{assert_refused, free_port, json, run, stderr};
use serde_json::Value;

/// A socket ping-pong on 127.0.0.1 (no libfabric needed) with `options`; its recorded parameters.
fn socket_pingpong(options: &[&str]) -> Value {
    let mut args = vec![
        "pingpong",
        "--local",
        "--transport",
        "socket",
        "--format",
        "json",
    ];
    args.extend(options);
    let out = run(&args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    json(&out)["parameters"].clone()
}

#[test]
fn short_flags_mean_what_the_long_ones_do() {
    let port = free_port().to_string();
    let long = socket_pingpong(&[
        "--sizes", "4,64", "--iters", "100", "--warmup", "10", "--port", &port,
    ]);
    assert_eq!(long["sizes_bytes"], serde_json::json!([4, 64]));
    assert_eq!(long["iterations"], 100);
    assert_eq!(long["warmup_iterations"], 10);
    for (style, flags) in [
        ("perftest", ["-s", "-n", "-w", "-p"]),
        ("fabtests", ["-S", "-I", "-w", "-P"]),
    ] {
        let port = free_port();
        let given = port.to_string();
        let mut short = socket_pingpong(&[
            flags[0], "4,64", flags[1], "100", flags[2], "10", flags[3], &given,
        ]);
        assert_eq!(short["port"], port, "{style}: the given port is used");
        short["port"] = long["port"].clone();
        assert_eq!(short, long, "{style}-style short flags");
    }

    // -a is --sweep, -D is --duration, -p/-P are the port: their conflicts and errors say so.
    assert_refused(
        &["pingpong", "--local", "-a", "-s", "4"],
        "'--sweep' cannot be used with '--sizes <SIZES>'",
    );
    assert_refused(
        &["pingpong", "--local", "-n", "10", "-D", "1s"],
        "'--iters <ITERS>' cannot be used with '--duration <DURATION>'",
    );
    // fabtests' `-p efa` names a provider; here -p is perftest's port, and the error says so.
    assert_refused(
        &["pingpong", "--local", "-p", "efa"],
        "invalid value 'efa' for '--port <PORT>'",
    );

    // bw: -t/-W the window (perftest's tx-depth, fabtests' -W), -b both directions.
    let out = run(&[
        "bw",
        "--local",
        "--transport",
        "socket",
        "-s",
        "4",
        "-n",
        "64",
        "-W",
        "8",
        "-b",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let parameters = &json(&out)["parameters"];
    assert_eq!(parameters["window"], 8);
    assert_eq!(parameters["bidirectional"], true);
}

/// The subcommand names `rdmabench --help` lists.
fn subcommands() -> Vec<String> {
    let out = run(&["--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    let commands: Vec<String> = help
        .split("Commands:\n")
        .nth(1)
        .expect("--help lists the commands")
        .lines()
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_whitespace().next().map(str::to_string))
        .filter(|name| name != "help")
        .collect();
    assert!(commands.contains(&"pingpong".to_string()), "{commands:?}");
    commands
}

#[test]
fn bash_completion_is_valid_and_completes_subcommands_and_options() {
    let out = run(&["completions", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let script = std::env::temp_dir().join(format!("rdmabench-completion-{}", std::process::id()));
    std::fs::write(&script, &out.stdout).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(check.status.success(), "bash -n: {}", stderr(&check));
    // As bash calls it: the function gets the command, the word being completed, the one before.
    let complete = |words: &str, cword: usize| -> String {
        let words_list: Vec<&str> = words.split(' ').collect();
        let current = words_list[cword];
        let previous = words_list[cword - 1];
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}'; COMP_WORDS=({words}); COMP_CWORD={cword}; _rdmabench rdmabench '{current}' '{previous}'; echo \"${{COMPREPLY[@]}}\"",
                script.display()
            ))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert_eq!(complete("rdmabench pin", 1), "pingpong");
    assert_eq!(complete("rdmabench pingpong --swe", 2), "--sweep");
    std::fs::remove_file(&script).unwrap();

    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        let sizes = if shell == "fish" {
            "-l sizes"
        } else {
            "--sizes"
        };
        assert!(text.contains("pingpong") && text.contains(sizes), "{shell}");
    }
    assert_refused(&["completions", "tcsh"], "invalid value 'tcsh'");
}

#[test]
fn the_man_page_is_roff_naming_every_command() {
    let out = run(&["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(page.contains("\n.TH rdmabench 1 "), "{page}");
    for command in subcommands() {
        assert!(
            page.contains(&format!("rdmabench\\-{command}(1)")),
            "the page names {command}"
        );
    }
    lint_roff(&out);

    let dir = tempfile::tempdir().unwrap();
    let out = run(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let page_of = |name: &str| dir.path().join(name).display().to_string();
    for command in subcommands() {
        assert!(
            listed.contains(&page_of(&format!("rdmabench-{command}.1"))),
            "{command}"
        );
    }
    // Nested subcommands get their own pages too.
    assert!(listed.contains(&page_of("rdmabench.1")), "{listed:?}");
    if cfg!(feature = "cloud") {
        assert!(
            listed.contains(&page_of("rdmabench-infra-plan.1")),
            "{listed:?}"
        );
    }
    for path in &listed {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains("\n.TH "), "{path}");
    }
}

/// groff's warnings about the page (groff-base, which scripts/test installs; man-db uses it).
fn lint_roff(page: &Output) {
    use std::io::Write;
    let Ok(mut groff) = Command::new("groff")
        .args(["-man", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        assert!(
            std::env::var_os("RDMABENCH_REQUIRE_GROFF").is_none(),
            "groff is required (RDMABENCH_REQUIRE_GROFF) but not installed"
        );
        eprintln!("skipping the roff lint: groff is not installed (apt-get install groff-base)");
        return;
    };
    groff.stdin.take().unwrap().write_all(&page.stdout).unwrap();
    let out = groff.wait_with_output().unwrap();
    assert!(out.status.success(), "groff failed: {}", stderr(&out));
    assert!(out.stderr.is_empty(), "groff warns: {}", stderr(&out));
}
