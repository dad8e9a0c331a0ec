//! The store contract, checked against every backend: memory, embedded SQLite and a real etcd.

mod common;

use berth_store::{DynStore, EventKind, RangeRequest, Revision, StoreError, WatchEvent};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(20);

async fn next_event(watch: &mut berth_store::Watch) -> WatchEvent {
    match tokio::time::timeout(DEADLINE, watch.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(e))) => panic!("watch failed: {e}"),
        Ok(None) => panic!("watch ended"),
        Err(_) => panic!("no watch event within {DEADLINE:?}"),
    }
}

fn summary(event: &WatchEvent) -> (EventKind, String, Vec<u8>, Revision) {
    (
        event.kind,
        event.kv.key.clone(),
        event.kv.value.clone(),
        event.revision(),
    )
}

async fn create_and_get(s: DynStore) {
    let (missing, _) = s.get("/t/a").await.unwrap();
    assert!(missing.is_none());
    let kv = s.create("/t/a", b"one".to_vec()).await.unwrap();
    assert_eq!(kv.create_revision, kv.mod_revision);
    assert!(kv.mod_revision > 0);
    let (got, rev) = s.get("/t/a").await.unwrap();
    assert_eq!(got.as_ref(), Some(&kv));
    assert!(rev >= kv.mod_revision);
    match s.create("/t/a", b"two".to_vec()).await {
        Err(StoreError::AlreadyExists { key }) => assert_eq!(key, "/t/a"),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    let (got, _) = s.get("/t/a").await.unwrap();
    assert_eq!(got.unwrap().value, b"one");
    assert_eq!(s.current_revision().await.unwrap(), kv.mod_revision);
    s.health().await.unwrap();
}

async fn conditional_update(s: DynStore) {
    let created = s.create("/t/u", b"v1".to_vec()).await.unwrap();
    let updated = s
        .update("/t/u", b"v2".to_vec(), created.mod_revision)
        .await
        .unwrap();
    assert_eq!(updated.create_revision, created.create_revision);
    assert!(updated.mod_revision > created.mod_revision);
    match s.update("/t/u", b"v3".to_vec(), created.mod_revision).await {
        Err(StoreError::Conflict {
            key,
            expected,
            current,
        }) => {
            assert_eq!(key, "/t/u");
            assert_eq!(expected, created.mod_revision);
            let current = current.expect("conflict carries the current value");
            assert_eq!(current.value, b"v2");
            assert_eq!(current.mod_revision, updated.mod_revision);
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    match s.update("/t/missing", b"x".to_vec(), 1).await {
        Err(StoreError::NotFound { key }) => assert_eq!(key, "/t/missing"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    let (got, _) = s.get("/t/u").await.unwrap();
    assert_eq!(got.unwrap().value, b"v2");
}

async fn conditional_delete(s: DynStore) {
    let created = s.create("/t/d", b"v1".to_vec()).await.unwrap();
    let updated = s
        .update("/t/d", b"v2".to_vec(), created.mod_revision)
        .await
        .unwrap();
    match s.delete("/t/d", Some(created.mod_revision)).await {
        Err(StoreError::Conflict { current, .. }) => {
            assert_eq!(current.unwrap().mod_revision, updated.mod_revision)
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    let deleted = s.delete("/t/d", Some(updated.mod_revision)).await.unwrap();
    assert_eq!(deleted.value, b"v2");
    assert!(deleted.mod_revision > updated.mod_revision);
    assert_eq!(s.get("/t/d").await.unwrap().0, None);
    assert!(matches!(
        s.delete("/t/d", None).await,
        Err(StoreError::NotFound { .. })
    ));
    let again = s.create("/t/d", b"v3".to_vec()).await.unwrap();
    assert!(again.create_revision > deleted.mod_revision);
    let gone = s.delete("/t/d", None).await.unwrap();
    assert_eq!(gone.value, b"v3");
}

async fn revisions_are_global(s: DynStore) {
    let a = s.create("/t/r/a", vec![1]).await.unwrap();
    let b = s.create("/t/r/b", vec![2]).await.unwrap();
    let a2 = s.update("/t/r/a", vec![3], a.mod_revision).await.unwrap();
    assert_eq!(b.mod_revision, a.mod_revision + 1);
    assert_eq!(a2.mod_revision, b.mod_revision + 1);
    // A refused write does not use up a revision.
    let _ = s.create("/t/r/a", vec![4]).await.unwrap_err();
    let c = s.create("/t/r/c", vec![5]).await.unwrap();
    assert_eq!(c.mod_revision, a2.mod_revision + 1);
}

async fn range_pages_through_a_prefix(s: DynStore) {
    for i in 0..25 {
        s.create(&format!("/t/p/{i:03}"), format!("v{i}").into_bytes())
            .await
            .unwrap();
    }
    // Neighbours that share a string prefix but not the path prefix stay out.
    s.create("/t/pp/x", vec![]).await.unwrap();
    s.create("/t/o", vec![]).await.unwrap();
    let all = s.range(RangeRequest::prefix("/t/p/")).await.unwrap();
    assert_eq!(all.kvs.len(), 25);
    assert!(!all.more);
    let keys: Vec<_> = all.kvs.iter().map(|kv| kv.key.clone()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);

    let mut seen = Vec::new();
    let mut request = RangeRequest::prefix("/t/p/").limit(10);
    let mut pages = 0;
    loop {
        let page = s.range(request.clone()).await.unwrap();
        pages += 1;
        assert!(page.kvs.len() <= 10);
        seen.extend(page.kvs.iter().map(|kv| kv.key.clone()));
        if !page.more {
            break;
        }
        let last = page.kvs.last().unwrap().key.clone();
        request = RangeRequest::prefix("/t/p/")
            .limit(10)
            .start_after(last)
            .at_revision(page.revision);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, keys);
    let exact = s
        .range(RangeRequest::prefix("/t/p/").limit(25))
        .await
        .unwrap();
    assert_eq!(exact.kvs.len(), 25);
    assert!(!exact.more);
}

async fn range_at_an_older_revision(s: DynStore) {
    let a = s.create("/t/h/a", b"a1".to_vec()).await.unwrap();
    let b = s.create("/t/h/b", b"b1".to_vec()).await.unwrap();
    let snapshot = b.mod_revision;
    s.update("/t/h/a", b"a2".to_vec(), a.mod_revision)
        .await
        .unwrap();
    s.delete("/t/h/b", None).await.unwrap();
    s.create("/t/h/c", b"c1".to_vec()).await.unwrap();

    let old = s
        .range(RangeRequest::prefix("/t/h/").at_revision(snapshot))
        .await
        .unwrap();
    assert_eq!(old.revision, snapshot);
    let view: Vec<_> = old
        .kvs
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_slice()))
        .collect();
    assert_eq!(view, vec![("/t/h/a", &b"a1"[..]), ("/t/h/b", &b"b1"[..])]);
    assert_eq!(old.kvs[0].mod_revision, a.mod_revision);

    let now = s.range(RangeRequest::prefix("/t/h/")).await.unwrap();
    let view: Vec<_> = now
        .kvs
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_slice()))
        .collect();
    assert_eq!(view, vec![("/t/h/a", &b"a2"[..]), ("/t/h/c", &b"c1"[..])]);

    let paged = s
        .range(
            RangeRequest::prefix("/t/h/")
                .at_revision(snapshot)
                .limit(1)
                .start_after("/t/h/a"),
        )
        .await
        .unwrap();
    assert_eq!(paged.kvs.len(), 1);
    assert_eq!(paged.kvs[0].value, b"b1");
    assert!(!paged.more);

    let future = now.revision + 100;
    match s
        .range(RangeRequest::prefix("/t/h/").at_revision(future))
        .await
    {
        Err(StoreError::FutureRevision { requested, .. }) => assert_eq!(requested, future),
        other => panic!("expected FutureRevision, got {other:?}"),
    }
}

async fn racing_writers_one_winner_per_round(s: DynStore) {
    let created = s.create("/t/race", b"0".to_vec()).await.unwrap();
    let mut base = created.mod_revision;
    for round in 1..=15 {
        let mut tasks = Vec::new();
        for writer in 0..8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.update("/t/race", format!("{round}-{writer}").into_bytes(), base)
                    .await
            }));
        }
        let mut winners = Vec::new();
        let mut conflicts = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(kv) => winners.push(kv),
                Err(StoreError::Conflict { .. }) => conflicts += 1,
                Err(e) => panic!("unexpected error {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one writer wins");
        assert_eq!(
            conflicts, 7,
            "round {round}: every other writer gets a conflict"
        );
        let (now, _) = s.get("/t/race").await.unwrap();
        assert_eq!(now.as_ref(), Some(&winners[0]));
        base = winners[0].mod_revision;
    }
}

async fn watch_replays_missed_events(s: DynStore) {
    let first = s.create("/t/w/a", b"1".to_vec()).await.unwrap();
    let start = first.mod_revision;
    let u = s.update("/t/w/a", b"2".to_vec(), start).await.unwrap();
    s.create("/t/other/x", b"ignored".to_vec()).await.unwrap();
    let b = s.create("/t/w/b", b"3".to_vec()).await.unwrap();
    let d = s.delete("/t/w/a", None).await.unwrap();

    let mut watch = s.watch("/t/w/", start).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next_event(&mut watch).await);
    }
    let want = vec![
        (
            EventKind::Put,
            "/t/w/a".to_owned(),
            b"2".to_vec(),
            u.mod_revision,
        ),
        (
            EventKind::Put,
            "/t/w/b".to_owned(),
            b"3".to_vec(),
            b.mod_revision,
        ),
        (
            EventKind::Delete,
            "/t/w/a".to_owned(),
            b"2".to_vec(),
            d.mod_revision,
        ),
    ];
    assert_eq!(got.iter().map(summary).collect::<Vec<_>>(), want);
    assert_eq!(
        got[0].prev.as_ref().map(|p| p.value.clone()),
        Some(b"1".to_vec())
    );

    // Live events follow the replay without a gap.
    let live = s.create("/t/w/c", b"4".to_vec()).await.unwrap();
    let event = next_event(&mut watch).await;
    assert_eq!(
        summary(&event),
        (
            EventKind::Put,
            "/t/w/c".into(),
            b"4".to_vec(),
            live.mod_revision
        )
    );
}

async fn watch_from_now_sees_only_new_changes(s: DynStore) {
    s.create("/t/n/old", b"old".to_vec()).await.unwrap();
    let now = s.current_revision().await.unwrap();
    let mut watch = s.watch("/t/n/", now).await.unwrap();
    let mut writes = Vec::new();
    for i in 0..20 {
        writes.push(s.create(&format!("/t/n/{i:02}"), vec![i]).await.unwrap());
    }
    s.create("/t/nx", vec![]).await.unwrap();
    for kv in &writes {
        let event = next_event(&mut watch).await;
        assert_eq!(event.kind, EventKind::Put);
        assert_eq!(event.kv, *kv);
    }
}

async fn many_concurrent_writes_reach_a_watcher_in_order(s: DynStore) {
    let start = s.current_revision().await.unwrap();
    let mut watch = s.watch("/t/c/", start).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                s.create(&format!("/t/c/{w}/{i}"), vec![w, i])
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut last = start;
    let mut keys = std::collections::BTreeSet::new();
    for _ in 0..320 {
        let event = next_event(&mut watch).await;
        assert!(event.revision() > last, "revisions strictly increase");
        last = event.revision();
        assert!(keys.insert(event.kv.key.clone()), "no duplicate events");
    }
    assert_eq!(keys.len(), 320);
    let all = s.range(RangeRequest::prefix("/t/c/")).await.unwrap();
    assert_eq!(all.kvs.len(), 320);
    assert_eq!(all.revision, last);
}

async fn compaction_fails_old_reads_and_watches(s: DynStore) {
    let a = s.create("/t/k/a", b"a1".to_vec()).await.unwrap();
    let b = s.create("/t/k/b", b"b1".to_vec()).await.unwrap();
    let a2 = s
        .update("/t/k/a", b"a2".to_vec(), a.mod_revision)
        .await
        .unwrap();
    let c = s.create("/t/k/c", b"c1".to_vec()).await.unwrap();
    s.delete("/t/k/c", None).await.unwrap();
    let a3 = s
        .update("/t/k/a", b"a3".to_vec(), a2.mod_revision)
        .await
        .unwrap();
    let compact_at = a3.mod_revision - 1; // after the deletion of c, before a3

    s.compact(compact_at).await.unwrap();
    // Compacting again at or below is harmless.
    s.compact(compact_at).await.unwrap();
    s.compact(compact_at - 1).await.unwrap();

    match s
        .range(RangeRequest::prefix("/t/k/").at_revision(b.mod_revision))
        .await
    {
        Err(StoreError::Compacted { requested, .. }) => assert_eq!(requested, b.mod_revision),
        other => panic!("expected Compacted, got {other:?}"),
    }
    match s.watch("/t/k/", a.mod_revision).await {
        Err(StoreError::Compacted { .. }) => {}
        Ok(mut w) => match tokio::time::timeout(DEADLINE, w.next()).await {
            Ok(Some(Err(StoreError::Compacted { .. }))) => {}
            other => panic!(
                "expected a compacted watch, got {:?}",
                other.map(|o| o.map(|r| r.map(|e| summary(&e))))
            ),
        },
        Err(e) => panic!("expected Compacted, got {e}"),
    }
    // At the compacted revision itself, keys last written before it are still readable.
    let at = s
        .range(RangeRequest::prefix("/t/k/").at_revision(compact_at))
        .await
        .unwrap();
    let view: Vec<_> = at
        .kvs
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_slice()))
        .collect();
    assert_eq!(view, vec![("/t/k/a", &b"a2"[..]), ("/t/k/b", &b"b1"[..])]);
    assert_eq!(at.kvs[1].mod_revision, b.mod_revision);
    // A watch that needs nothing older than the compaction still works.
    let mut w = s.watch("/t/k/", compact_at).await.unwrap();
    let event = next_event(&mut w).await;
    assert_eq!(event.kv, a3);
    assert!(c.mod_revision < compact_at);
    // New writes go on as before.
    let d = s.create("/t/k/d", vec![]).await.unwrap();
    assert_eq!(d.mod_revision, a3.mod_revision + 1);
}

async fn compaction_of_the_future_is_refused(s: DynStore) {
    let kv = s.create("/t/f", vec![]).await.unwrap();
    assert!(s.compact(kv.mod_revision + 10).await.is_err());
    s.create("/t/f2", vec![]).await.unwrap();
}

async fn large_values_round_trip(s: DynStore) {
    let value: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let kv = s.create("/t/big", value.clone()).await.unwrap();
    // Revision 0 replays everything, this first write included.
    let mut from_start = s.watch("/t/", 0).await.unwrap();
    assert_eq!(next_event(&mut from_start).await.kv, kv);
    let (got, _) = s.get("/t/big").await.unwrap();
    assert_eq!(got.unwrap().value, value);
    let mut watch = s.watch("/t/big", kv.mod_revision - 1).await.unwrap();
    assert_eq!(next_event(&mut watch).await.kv.value, value);
}

macro_rules! suite {
    ($backend:ident) => {
        mod $backend {
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let fixture = crate::common::$backend().await;
                        super::$name(fixture.store.clone()).await;
                    }
                };
            }
            case!(create_and_get);
            case!(conditional_update);
            case!(conditional_delete);
            case!(revisions_are_global);
            case!(range_pages_through_a_prefix);
            case!(range_at_an_older_revision);
            case!(racing_writers_one_winner_per_round);
            case!(watch_replays_missed_events);
            case!(watch_from_now_sees_only_new_changes);
            case!(many_concurrent_writes_reach_a_watcher_in_order);
            case!(compaction_fails_old_reads_and_watches);
            case!(compaction_of_the_future_is_refused);
            case!(large_values_round_trip);
        }
    };
}

suite!(memory);
suite!(sqlite);
suite!(etcd);
