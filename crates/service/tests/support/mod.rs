//! A service over a real SQLite store and runtime, with one tenant whose key may do anything.

use std::path::Path;
use std::sync::Arc;

use sluice_runtime::durable::Runtime;
use sluice_runtime::{FunctionEndpoints, Invoker};
use sluice_service::{Caller, KeyConfig, Service, ServiceConfig, TenantConfig};
use sluice_store::sqlite::SqliteStore;

pub async fn service(dir: &Path) -> (Arc<Service>, Caller) {
    let store = SqliteStore::open(&dir.join("sluice.db")).expect("open the store");
    let invoker = Invoker::new(FunctionEndpoints::default()).expect("invoker");
    let runtime = Runtime::new(
        Arc::new(store),
        Arc::new(invoker),
        Arc::new(sluice_lang::compile),
    );
    runtime.start_background_work();
    let config = ServiceConfig {
        tenants: vec![TenantConfig {
            id: "t".into(),
            account_id: "1".into(),
            aws_account_id: None,
            project_id: None,
            keys: vec![KeyConfig {
                id: "k".into(),
                secret: "s".into(),
                actions: vec!["*".into()],
                allow_unsigned_payload: false,
            }],
            rate_limits: Default::default(),
            outbound: None,
        }],
        limits: Default::default(),
    };
    let service = Arc::new(Service::new(runtime.store().clone(), runtime, &config));
    let caller = service.tenants().key("k").expect("the key").1.clone();
    (service, caller)
}
