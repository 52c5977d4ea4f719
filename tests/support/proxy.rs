//! A TCP proxy on loopback that a test switches off and on again: an outage of the server
//! behind it (new connections refused, open ones cut) that keeps the server's state, which
//! stopping the server itself would lose (`#[path]`-included).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Forwards `127.0.0.1:port` to `127.0.0.1:target` while up.
pub struct Proxy {
    /// The port it listens on (the same after `down` and `up`).
    pub port: u16,
    target: u16,
    running: Mutex<Option<Running>>,
}

struct Running {
    stop: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<TcpStream>>>,
    acceptor: JoinHandle<()>,
}

impl Proxy {
    /// A proxy to `127.0.0.1:target` on a free port, up.
    pub fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("addr").port();
        let proxy = Proxy { port, target, running: Mutex::new(None) };
        proxy.serve(listener);
        proxy
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops listening and cuts every open connection: connections are refused until `up`.
    pub fn down(&self) {
        let Some(running) = self.running.lock().expect("lock").take() else { return };
        running.stop.store(true, Ordering::SeqCst);
        // Wakes the blocked accept, which then sees `stop` and drops the listener.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        running.acceptor.join().expect("the acceptor ends");
        for c in running.connections.lock().expect("lock").drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    /// Listens again on the same port.
    pub fn up(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("the same port again");
        self.serve(listener);
    }

    fn serve(&self, listener: TcpListener) {
        let stop = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (target, stop_in, conns_in) =
            (self.target, Arc::clone(&stop), Arc::clone(&connections));
        let acceptor = std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop_in.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { continue };
                let mut kept = conns_in.lock().expect("lock");
                for s in [&client, &server] {
                    kept.extend(s.try_clone());
                }
                pipe(&client, &server);
                pipe(&server, &client);
            }
        });
        *self.running.lock().expect("lock") = Some(Running { stop, connections, acceptor });
    }
}

/// Copies `from` to `to` on a thread of its own until either closes.
fn pipe(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else { return };
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.down();
    }
}
