//! A throwaway Postgres cluster on its own port, for chaos tests that stop or restart the server
//! (never the machine's shared server). Uses the machine's Postgres binaries, found as
//! `scripts/pg.sh` finds them: `PRIKKE_PG_BIN`, then any installed version (newest first); when
//! the test runs as root, the server runs as the `postgres` OS user (initdb refuses root).

use std::path::PathBuf;
use std::process::Command;

pub struct ThrowawayPg {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    as_user: Option<String>,
}

impl ThrowawayPg {
    pub fn start() -> ThrowawayPg {
        let bin = server_binaries()
            .expect("Postgres server binaries (initdb, pg_ctl) are needed: apt-get install postgresql, or set PRIKKE_PG_BIN");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let dir = std::env::temp_dir().join(format!("prikke-chaos-pg-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let is_root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
        let as_user = is_root.then(|| "postgres".to_owned());
        if let Some(u) = &as_user {
            assert!(Command::new("chown").arg(u).arg(&dir).status().unwrap().success());
        }
        let pg = ThrowawayPg { port, dir, bin, as_user };
        pg.run("initdb", &["-D", &pg.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
        pg.ctl(&["start", "-w", "-t", "60"]);
        pg
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// `pg_ctl restart -m fast`: every connection is cut; the server is back when this returns.
    pub fn restart(&self) {
        self.ctl(&["restart", "-m", "fast", "-w", "-t", "60"]);
    }

    pub fn stop(&self) {
        self.ctl(&["stop", "-m", "fast", "-w"]);
    }

    pub fn start_again(&self) {
        self.ctl(&["start", "-w", "-t", "60"]);
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn ctl(&self, args: &[&str]) {
        let data = self.data();
        let log = self.dir.join("server.log").display().to_string();
        let opts = format!("-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off", self.port, self.dir.display());
        let mut all = vec!["-D", &data, "-l", &log, "-o", &opts];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all);
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let status = match &self.as_user {
            Some(u) => Command::new("runuser").arg("-u").arg(u).arg("--").arg(&exe).args(args).status(),
            None => Command::new(&exe).args(args).status(),
        }
        .unwrap();
        assert!(status.success(), "{tool} {args:?} failed");
    }
}

/// The directory holding `initdb` and `pg_ctl`: `$PRIKKE_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin`, else `/usr/local/pgsql/bin`.
fn server_binaries() -> Option<PathBuf> {
    let mut installed: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .collect();
    installed.sort_by(|a, b| b.0.cmp(&a.0));
    std::env::var_os("PRIKKE_PG_BIN")
        .map(PathBuf::from)
        .into_iter()
        .chain(installed.into_iter().map(|(_, dir)| dir))
        .chain([PathBuf::from("/usr/local/pgsql/bin")])
        .find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
}

impl Drop for ThrowawayPg {
    fn drop(&mut self) {
        let data = self.data();
        let _ = match &self.as_user {
            Some(u) => Command::new("runuser").args(["-u", u, "--"]).arg(self.bin.join("pg_ctl")).args(["-D", &data, "-m", "immediate", "stop"]).status(),
            None => Command::new(self.bin.join("pg_ctl")).args(["-D", &data, "-m", "immediate", "stop"]).status(),
        };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
