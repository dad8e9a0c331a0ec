//! Fast memory copies on AMD x86-64 machines.
//!
//! glibc's `memcpy` copies buffers from about 2 KiB up with the `rep movsb` instruction. On AMD
//! EPYC processors (measured on the 2 vCPU machines Berth is tested on) that path is several
//! times slower than glibc's vector loop for the copies Berth makes most: TLS records of a
//! large LIST (16 KiB each), cached objects joined into a response, store pages. A 10 000-pod
//! JSON LIST took 40 ms of API server CPU with `rep movsb` and 26 ms without it.
//!
//! glibc reads its tunables only when a process starts, so a Berth binary that finds itself on
//! such a machine without the tunable set replaces itself once (`exec` of `/proc/self/exe`:
//! same binary, process id, arguments and open files) with `GLIBC_TUNABLES` raising
//! `x86_rep_movsb_threshold` out of reach, and `BERTH_MEMCPY_REEXEC=1` so it never does so
//! twice (glibc drops tunables for set-user-ID or privileged binaries, which would otherwise
//! loop). Processes Berth starts inherit both variables (containerd, runc and other glibc
//! programs get the same copies). `BERTH_KEEP_MEMCPY=1`, or a `GLIBC_TUNABLES` that already
//! sets the threshold, keeps glibc's choice. Nothing changes on other processors or C
//! libraries.

/// The glibc tunable that decides from which size `memcpy` uses `rep movsb`.
const TUNABLE: &str = "glibc.cpu.x86_rep_movsb_threshold";

/// Above any copy Berth makes; glibc's own non-temporal threshold still applies beyond it.
const THRESHOLD: &str = "0x10000000";

/// The `GLIBC_TUNABLES` value to run with, or `None` to keep the current process as it is.
fn tunables_for(
    current: Option<&str>,
    cpu_vendor: Option<&str>,
    opted_out: bool,
) -> Option<String> {
    if opted_out || cpu_vendor != Some("AuthenticAMD") {
        return None;
    }
    match current {
        Some(current) if current.contains(TUNABLE) => None,
        Some(current) if !current.is_empty() => Some(format!("{current}:{TUNABLE}={THRESHOLD}")),
        _ => Some(format!("{TUNABLE}={THRESHOLD}")),
    }
}

/// The `vendor_id` line of `/proc/cpuinfo` (`AuthenticAMD`, `GenuineIntel`, ...).
fn cpu_vendor() -> Option<String> {
    use std::io::BufRead;
    let file = std::fs::File::open("/proc/cpuinfo").ok()?;
    std::io::BufReader::new(file)
        .lines()
        .take(32)
        .map_while(Result::ok)
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == "vendor_id").then(|| value.trim().to_owned())
        })
}

/// Set on the re-executed process: it never re-executes again.
const REEXECUTED: &str = "BERTH_MEMCPY_REEXEC";

/// Call first thing in `main`, before threads start: on an AMD x86-64 machine with glibc,
/// re-executes the binary with vector copies (see the module documentation). Returns when
/// nothing needs to change, after the one re-execution, or when re-executing is not possible;
/// the process then runs as it is.
pub fn prefer_vector_copies() {
    #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os(REEXECUTED).is_some() {
            return;
        }
        // A value that is not UTF-8 is left alone rather than overwritten.
        let current = match std::env::var_os("GLIBC_TUNABLES") {
            None => None,
            Some(v) => match v.into_string() {
                Ok(v) => Some(v),
                Err(_) => return,
            },
        };
        let opted_out = std::env::var_os("BERTH_KEEP_MEMCPY").is_some_and(|v| v != "0");
        let Some(tunables) = tunables_for(current.as_deref(), cpu_vendor().as_deref(), opted_out)
        else {
            return;
        };
        let mut args = std::env::args_os();
        let Some(arg0) = args.next() else {
            return;
        };
        // `exec` only returns on failure; the process then goes on with glibc's default.
        let _ = std::process::Command::new("/proc/self/exe")
            .arg0(arg0)
            .args(args)
            .env("GLIBC_TUNABLES", tunables)
            .env(REEXECUTED, "1")
            .exec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_the_threshold_on_amd_only() {
        let set = format!("{TUNABLE}={THRESHOLD}");
        assert_eq!(
            tunables_for(None, Some("AuthenticAMD"), false),
            Some(set.clone())
        );
        assert_eq!(
            tunables_for(Some(""), Some("AuthenticAMD"), false),
            Some(set)
        );
        assert_eq!(tunables_for(None, Some("GenuineIntel"), false), None);
        assert_eq!(tunables_for(None, None, false), None);
    }

    #[test]
    fn keeps_other_tunables_and_an_explicit_choice() {
        assert_eq!(
            tunables_for(
                Some("glibc.malloc.arena_max=2"),
                Some("AuthenticAMD"),
                false
            ),
            Some(format!("glibc.malloc.arena_max=2:{TUNABLE}={THRESHOLD}"))
        );
        let explicit = format!("{TUNABLE}=0x800");
        assert_eq!(
            tunables_for(Some(&explicit), Some("AuthenticAMD"), false),
            None
        );
        assert_eq!(tunables_for(None, Some("AuthenticAMD"), true), None);
    }

    #[test]
    fn reads_this_machines_vendor() {
        // Every Linux x86-64 kernel names the vendor in /proc/cpuinfo.
        if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
            let vendor = cpu_vendor().expect("vendor_id in /proc/cpuinfo");
            assert!(!vendor.is_empty());
        }
    }
}
