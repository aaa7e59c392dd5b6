// threads_cpp: C++ threads on a static glibc (libstdc++): std::thread with a lambda,
// std::async with futures, std::atomic counters, std::mutex + std::condition_variable,
// thread_local, and std::jthread-free joins. Prints results that do not depend on the
// schedule; exits 0 when every check held.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <numeric>
#include <queue>
#include <thread>
#include <vector>

static thread_local int tl_value = 5;

int main()
{
    int bad = 0;
    std::atomic<long> atomic_sum{0};
    std::vector<std::thread> ts;
    for (int i = 1; i <= 4; i++)
        ts.emplace_back([i, &atomic_sum] {
            tl_value = i;
            for (int k = 0; k < 50000; k++)
                atomic_sum.fetch_add(i, std::memory_order_relaxed);
            if (tl_value != i)
                std::abort();
        });
    for (auto &t : ts)
        t.join();
    std::printf("atomic: %ld, main's thread_local %d\n", atomic_sum.load(), tl_value);
    bad += atomic_sum != 500000 || tl_value != 5;

    std::vector<std::future<long>> fs;
    for (long i = 0; i < 6; i++)
        fs.push_back(std::async(std::launch::async, [i] {
            long s = 0;
            for (long k = 0; k <= i * 1000; k++)
                s += k;
            return s;
        }));
    long total = 0;
    for (auto &f : fs)
        total += f.get();
    std::printf("async: %ld\n", total);
    bad += total != 27507500;

    std::mutex m;
    std::condition_variable cv;
    std::queue<int> q;
    bool done = false;
    long consumed = 0;
    std::thread consumer([&] {
        std::unique_lock<std::mutex> lk(m);
        for (;;) {
            cv.wait(lk, [&] { return !q.empty() || done; });
            while (!q.empty()) {
                consumed += q.front();
                q.pop();
            }
            if (done)
                return;
        }
    });
    for (int i = 1; i <= 2000; i++) {
        std::lock_guard<std::mutex> lk(m);
        q.push(i);
        cv.notify_one();
    }
    {
        std::lock_guard<std::mutex> lk(m);
        done = true;
    }
    cv.notify_one();
    consumer.join();
    std::printf("condition_variable: %ld\n", consumed);
    bad += consumed != 2001000;
    std::printf("hardware_concurrency: %u\n", std::thread::hardware_concurrency() > 0 ? 1u : 0u);
    return bad ? 1 : 0;
}
