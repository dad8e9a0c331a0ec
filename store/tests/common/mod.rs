//! Backends for the shared store test suite: each test gets a fresh, empty store.

#![allow(dead_code)]

use berth_store::memory::MemoryStore;
use berth_store::sqlite::SqliteStore;
use berth_store::DynStore;
use std::sync::Arc;

/// A store plus whatever must live as long as it (a temporary directory, an etcd process).
pub struct Fixture {
    pub store: DynStore,
    _guard: Box<dyn std::any::Any + Send>,
}

pub async fn memory() -> Fixture {
    Fixture {
        store: Arc::new(MemoryStore::new()),
        _guard: Box::new(()),
    }
}

pub async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("state.db")).expect("open sqlite store");
    Fixture {
        store: Arc::new(store),
        _guard: Box::new(dir),
    }
}

pub async fn etcd() -> Fixture {
    let server = berth_store::etcd_server::EtcdServer::start()
        .await
        .expect("start a local etcd (install Debian's etcd-server)");
    let store = berth_store::etcd::EtcdStore::connect(&[server.endpoint()])
        .await
        .expect("connect to etcd");
    Fixture {
        store: Arc::new(store),
        _guard: Box::new(server),
    }
}
