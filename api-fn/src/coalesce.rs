//! Coalescing of concurrent requests into one statement ("group commit" in the application).
//!
//! Under load, most of a request's cost in Postgres is not its row but its statement: a round
//! trip, a portal, an executor (for `jobs`, 16 CHECK constraints compiled again for every
//! INSERT), a commit and its WAL flush. A [`Coalescer`] collects the inputs of the requests that
//! arrive while earlier batches are in flight and hands them to one call of its batch function,
//! which answers each input in order: 100 concurrent `POST /api/v1/jobs` become a few multi-row
//! INSERTs instead of 100.
//!
//! Nothing waits for a batch to fill. An input is taken as soon as fewer than `in_flight`
//! batches are running, so a lone request (every request on Lambda, where an instance serves one
//! at a time) goes out at once, alone; batches form only while the database is busy, out of
//! requests that would otherwise have queued for a connection. Each input is answered by the
//! statement that ran after it arrived, so nothing read through a coalescer is staler than a
//! query of its own would be.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Semaphore, mpsc, oneshot};

/// A queue in front of a batch function. Cheap to clone; the worker task ends with the last clone.
pub struct Coalescer<I, O> {
    tx: mpsc::UnboundedSender<(I, oneshot::Sender<O>)>,
    /// Inputs sent and not yet taken into a batch.
    waiting: Arc<AtomicUsize>,
}

impl<I, O> Clone for Coalescer<I, O> {
    fn clone(&self) -> Self {
        Coalescer { tx: self.tx.clone(), waiting: self.waiting.clone() }
    }
}

/// The worker behind a [`Coalescer`] stopped (its batch function panicked, or the runtime is
/// shutting down): the input was not, or not visibly, handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the batch worker stopped before answering")]
pub struct Gone;

impl<I: Send + 'static, O: Send + 'static> Coalescer<I, O> {
    /// Starts the worker on the current tokio runtime. `batch` gets between 1 and `max_batch`
    /// inputs, in arrival order, and must return exactly one output per input, in the same order;
    /// at most `in_flight` calls of it run at once.
    pub fn spawn<F, Fut>(max_batch: usize, in_flight: usize, batch: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<O>> + Send + 'static,
    {
        assert!(max_batch >= 1 && in_flight >= 1, "a coalescer needs room for one input and one batch");
        let (tx, mut rx) = mpsc::unbounded_channel::<(I, oneshot::Sender<O>)>();
        let batch = Arc::new(batch);
        let slots = Arc::new(Semaphore::new(in_flight));
        let waiting = Arc::new(AtomicUsize::new(0));
        let taken = waiting.clone();
        tokio::spawn(async move {
            let mut queued = Vec::with_capacity(max_batch);
            loop {
                let Ok(slot) = slots.clone().acquire_owned().await else { return };
                if rx.recv_many(&mut queued, max_batch).await == 0 {
                    return; // every Coalescer is gone
                }
                taken.fetch_sub(queued.len(), Ordering::Relaxed);
                let (inputs, replies): (Vec<I>, Vec<oneshot::Sender<O>>) = queued.drain(..).unzip();
                let batch = batch.clone();
                tokio::spawn(async move {
                    let outputs = batch(inputs).await;
                    debug_assert_eq!(outputs.len(), replies.len(), "a batch answers every input");
                    for (reply, output) in replies.into_iter().zip(outputs) {
                        let _ = reply.send(output); // the caller may have given up (client gone)
                    }
                    drop(slot);
                });
            }
        });
        Coalescer { tx, waiting }
    }

    /// Inputs queued for the next batch (e.g. behind one still running).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Queues `input` and waits for its output.
    pub async fn call(&self, input: I) -> Result<O, Gone> {
        self.submit(input)?.await.map_err(|_| Gone)
    }

    /// Queues `input` now; the receiver gets its output.
    fn submit(&self, input: I) -> Result<oneshot::Receiver<O>, Gone> {
        let (reply, answer) = oneshot::channel();
        self.waiting.fetch_add(1, Ordering::Relaxed);
        self.tx.send((input, reply)).map_err(|_| {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            Gone
        })?;
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A batch function that records the batches it was given and answers each input doubled,
    /// holding every batch until `gate` lets it go.
    fn doubling(seen: Arc<Mutex<Vec<Vec<u32>>>>, gate: Arc<Semaphore>) -> Coalescer<u32, u32> {
        Coalescer::spawn(4, 1, move |inputs: Vec<u32>| {
            let (seen, gate) = (seen.clone(), gate.clone());
            async move {
                seen.lock().unwrap().push(inputs.clone());
                gate.acquire().await.unwrap().forget();
                inputs.into_iter().map(|i| i * 2).collect()
            }
        })
    }

    #[tokio::test]
    async fn a_lone_input_goes_out_at_once_and_alone() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let gate = Arc::new(Semaphore::new(1));
        let c = doubling(seen.clone(), gate);
        assert_eq!(c.call(21).await, Ok(42));
        assert_eq!(*seen.lock().unwrap(), vec![vec![21]]);
    }

    #[tokio::test]
    async fn inputs_arriving_during_a_batch_share_the_next_one_and_each_gets_its_own_answer() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let gate = Arc::new(Semaphore::new(0));
        let c = doubling(seen.clone(), gate.clone());
        let first = tokio::spawn({
            let c = c.clone();
            async move { c.call(1).await }
        });
        // Wait until the first batch is running (and held by the gate).
        while seen.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        let rest: Vec<_> = (2..=7).map(|i| c.submit(i).unwrap()).collect();
        assert_eq!(c.waiting(), 6);
        gate.add_permits(3);
        assert_eq!(first.await.unwrap(), Ok(2));
        let mut answers = Vec::new();
        for r in rest {
            answers.push(r.await.unwrap());
        }
        assert_eq!(answers, vec![4, 6, 8, 10, 12, 14]);
        assert_eq!(*seen.lock().unwrap(), vec![vec![1], vec![2, 3, 4, 5], vec![6, 7]], "capped at max_batch, in arrival order");
    }

    #[tokio::test]
    async fn a_panicking_batch_answers_gone_and_the_worker_carries_on() {
        let c: Coalescer<u32, u32> = Coalescer::spawn(8, 1, |inputs: Vec<u32>| async move {
            assert!(!inputs.contains(&13), "unlucky");
            inputs
        });
        assert_eq!(c.call(13).await, Err(Gone));
        assert_eq!(c.call(7).await, Ok(7));
    }
}
