//! Where passwords are hashed and verified: a few dedicated threads, about
//! one per core, each taking one job at a time. Argon2id needs 19 MiB per
//! hash; run on a thread per request, a flood of logins (which needs no
//! account: an unknown email runs the dummy hash) would take that much
//! memory per request at once, and the allocator would keep it afterwards.
//! Here at most one hash per worker is in memory, jobs beyond a short queue
//! wait briefly for a place, and past that the request is refused as busy.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rocket::tokio::sync::{mpsc, oneshot};
use rocket::tokio::time::timeout;

use crate::error::Error;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of worker threads fed through a bounded queue.
pub struct Workers {
    jobs: mpsc::Sender<Job>,
    /// How long a job may wait for a place in the queue.
    patience: Duration,
}

impl Workers {
    /// `threads` workers, `queued` jobs waiting at most, and callers waiting
    /// at most `patience` for a place before they give up.
    pub fn new(name: &str, threads: usize, queued: usize, patience: Duration) -> Workers {
        let (jobs, receiver) = mpsc::channel::<Job>(queued.max(1));
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads.max(1) {
            let receiver = Arc::clone(&receiver);
            let spawned =
                std::thread::Builder::new().name(format!("{name}-{n}")).spawn(move || work(&receiver));
            if let Err(e) = spawned {
                tracing::error!("cannot start a {name} worker: {e}");
            }
        }
        Workers { jobs, patience }
    }

    /// Runs `job` on a worker and returns what it returns; `Error::Busy` when
    /// no place in the queue freed up in time.
    pub async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(job());
        });
        match timeout(self.patience, self.jobs.send(job)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(Error::Internal("the workers have stopped".into())),
            Err(_) => return Err(Error::Busy { retry_after_secs: 1 }),
        }
        answer.await.map_err(|_| Error::Internal("a worker failed during its job".into()))
    }
}

fn work(receiver: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // One idle worker waits on the queue at a time; the others wait here.
        let job = match receiver.lock() {
            Ok(mut receiver) => receiver.blocking_recv(),
            Err(_) => return,
        };
        let Some(job) = job else { return };
        // A job that panics loses its answer (its caller gets an error), not the worker.
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
}

/// The workers that hash and verify passwords: one per core, up to two jobs
/// queued per worker, and two seconds of patience for a place.
pub fn passwords() -> &'static Workers {
    static PASSWORDS: OnceLock<Workers> = OnceLock::new();
    PASSWORDS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Workers::new("password", cores, cores * 2, Duration::from_secs(2))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[rocket::async_test]
    async fn no_more_jobs_run_at_once_than_there_are_workers() {
        let workers = Arc::new(Workers::new("test", 2, 16, Duration::from_secs(5)));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs = (0..10).map(|n| {
            let (workers, running, most) = (Arc::clone(&workers), Arc::clone(&running), Arc::clone(&most));
            rocket::tokio::spawn(async move {
                workers
                    .run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                        n * 2
                    })
                    .await
            })
        });
        let mut results = Vec::new();
        for job in jobs.collect::<Vec<_>>() {
            results.push(job.await.unwrap().unwrap());
        }
        assert_eq!(results, (0..10).map(|n| n * 2).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[rocket::async_test]
    async fn a_full_queue_refuses_after_its_patience() {
        let workers = Arc::new(Workers::new("test", 1, 1, Duration::from_millis(200)));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        let blocked = {
            let (workers, wait) = (Arc::clone(&workers), Arc::clone(&wait));
            rocket::tokio::spawn(
                async move { workers.run(move || wait.lock().map(|w| w.recv()).is_ok()).await },
            )
        };
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;
        let queued = {
            let workers = Arc::clone(&workers);
            rocket::tokio::spawn(async move { workers.run(|| 1).await })
        };
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;

        let started = std::time::Instant::now();
        let refused = workers.run(|| 2).await;

        assert!(matches!(refused, Err(Error::Busy { retry_after_secs: 1 })), "{refused:?}");
        assert!(started.elapsed() >= Duration::from_millis(200));
        release.send(()).unwrap();
        assert!(blocked.await.unwrap().unwrap());
        assert_eq!(queued.await.unwrap().unwrap(), 1);
    }

    #[rocket::async_test]
    async fn a_panicking_job_fails_alone() {
        let workers = Workers::new("test", 1, 4, Duration::from_secs(1));
        assert!(matches!(workers.run(|| -> u8 { panic!("boom") }).await, Err(Error::Internal(_))));
        assert_eq!(workers.run(|| 7).await.unwrap(), 7);
    }
}
