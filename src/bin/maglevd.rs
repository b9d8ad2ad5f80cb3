//! maglevd: health-checks backends and programs VPP's lb plugin.
fn main() -> std::process::ExitCode {
    vpp_maglev::daemon::main()
}
