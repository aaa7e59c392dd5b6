// threads.rs: Rust's std threads under vmemu, built static against glibc (crt-static):
// spawned threads joined with their results, an mpsc channel from several producers,
// Arc<Mutex<_>> and Arc<RwLock<_>>, atomics, a Condvar, thread::scope and a Barrier.
// Prints results that do not depend on the schedule; exits 0 when every check held.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex, RwLock};
use std::thread;

fn main() {
    let mut bad = 0;
    let handles: Vec<_> = (1..=4u64)
        .map(|i| thread::spawn(move || (1..=10000u64).map(|k| k * i).sum::<u64>()))
        .collect();
    let joined: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!("spawn/join: {}", joined);
    bad += (joined != 500_050_000) as i32;

    let (tx, rx) = mpsc::channel();
    for p in 0..3u64 {
        let tx = tx.clone();
        thread::spawn(move || {
            for k in 0..1000u64 {
                tx.send(p * 1000 + k).unwrap();
            }
        });
    }
    drop(tx);
    let received: u64 = rx.iter().sum();
    println!("channel: {}", received);
    bad += (received != 4_498_500) as i32;

    let counter = Arc::new(Mutex::new(0u64));
    let table = Arc::new(RwLock::new(vec![0u32; 16]));
    let hits = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (c, t, h) = (counter.clone(), table.clone(), hits.clone());
            thread::spawn(move || {
                for _ in 0..5000 {
                    *c.lock().unwrap() += 1;
                    h.fetch_add(1, Ordering::Relaxed);
                }
                t.write().unwrap().iter_mut().for_each(|x| *x += 1);
                t.read().unwrap().iter().all(|&x| x == t.read().unwrap()[0])
            })
        })
        .collect();
    let consistent = workers.into_iter().all(|w| w.join().unwrap());
    let c = *counter.lock().unwrap();
    let t0 = table.read().unwrap()[0];
    println!("mutex {} atomic {} rwlock {} consistent {}", c, hits.load(Ordering::Relaxed), t0, consistent);
    bad += (c != 20000 || t0 != 4 || !consistent) as i32;

    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p2 = pair.clone();
    let waiter = thread::spawn(move || {
        let (m, cv) = &*p2;
        let mut ready = m.lock().unwrap();
        while !*ready {
            ready = cv.wait(ready).unwrap();
        }
        true
    });
    {
        let (m, cv) = &*pair;
        *m.lock().unwrap() = true;
        cv.notify_all();
    }
    println!("condvar: {}", waiter.join().unwrap());

    let barrier = Barrier::new(3);
    let leaders = AtomicUsize::new(0);
    let mut data = vec![1u64; 300];
    thread::scope(|s| {
        for chunk in data.chunks_mut(100) {
            let (b, l) = (&barrier, &leaders);
            s.spawn(move || {
                chunk.iter_mut().for_each(|x| *x *= 2);
                if b.wait().is_leader() {
                    l.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let total: u64 = data.iter().sum();
    println!("scope/barrier: {} leaders {}", total, leaders.load(Ordering::Relaxed));
    bad += (total != 600 || leaders.load(Ordering::Relaxed) != 1) as i32;
    std::process::exit(bad);
}
