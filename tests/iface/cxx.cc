// <pvlink/iface.h> and <pvlink/runtime.h> from C++: sites in member
// functions, templates and lambdas; a provider written in C++ (a table
// here, and a shared object, cxx_prov.cc); the program links, re-links
// while two threads run every site and check every result, and unlinks.
//   cxx PROVIDER.so    prints what it did; exit status 0 when all is right
#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include <pvlink/runtime.h>

#include "natives.h"

#define ift_NATIVE(op) gen_##op
PVL_IFACE_DEFAULTS(ift, PVLINK_IFT);

namespace {

// The table provider, in C++.
long p_add(long a, long b) { return a * b; }
long p_noted;
void p_note(long v) { p_noted = v; }
long p_sum6(long a, long b, long c, long d, long e, long f) { return a + b + c + d + e + f; }
bool p_odd(long v) { return (v & 1) == 0; }
const char *p_pick(const char *s, long i) { return s + 2 * i; }
long p_spill(long v) { return gen_spill(v) + 1; }

const pvr_op_impl impls[] = {
    PVR_CALL(ift, add, p_add),
    PVR_CALL(ift, note, p_note),
    PVR_CALL(ift, sum6, p_sum6),
    PVR_CALL(ift, odd, p_odd),
    PVR_CALL(ift, pick, p_pick),
    PVR_CALL(ift, spill, p_spill),
    PVR_INLINE(answer, "\xb8\x2a\x00\x00\x00", PVL_CLB(RAX)),          // mov $42, %eax
    PVR_INLINE(twice, "\x48\x8d\x04\x7f", PVL_CLB(RAX)),               // lea (%rdi,%rdi,2), %rax
};
const pvr_provider_desc table = PVR_PROVIDER_DESC("pvlink.ift", 1, 0, "c++ table", impls);

// What each state of the program should see, by provider.
enum class State { native, table, so };
// (seq) is odd while a link is under way: a result seen across a change
// of (seq) may be old or new and is not judged.
std::atomic<State> state{State::native};
std::atomic<unsigned> seq{0};
std::atomic<bool> stop{false};
std::atomic<long> checks{0}, wrong{0};

// Sites in a class, a template and a lambda.
struct Calc {
    long base;
    long add(long x) const { return ift_add(base, x); }
    long twice(long x) const { return ift_twice(x); }
};

template <typename T> T sum_of(T a) { return (T)ift_sum6(a, a, a, a, a, a); }

bool check_once(const Calc &c, long i)
{
    auto answer = [] { return ift_answer(); };
    unsigned q = seq.load();
    State s = state.load();
    long add = c.add(i), twice = c.twice(i), sum = sum_of<long>(i), ans = answer();
    if ((q & 1) || seq.load() != q)
        return true; // re-linked meanwhile: either result is right
    switch (s) {
    case State::native:
        return add == c.base + i && twice == 2 * i && sum == 21 * i && ans == 41;
    case State::table:
        return add == c.base * i && twice == 3 * i && sum == 6 * i && ans == 42;
    case State::so:
        return add == c.base - i && twice == 2 * i && sum == 21 * i && ans == 43;
    }
    return false;
}

void runner(long base)
{
    Calc c{base};
    for (long i = 1; !stop.load(); i++) {
        if (!check_once(c, i % 1000))
            wrong++;
        checks++;
    }
}

int fail(const char *what, const pvr_error &err)
{
    std::printf("FAIL cxx:%s: %s\n", what, err.msg);
    return 1;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s PROVIDER.so\n", argv[0]);
        return 2;
    }
    pvr_error err;
    pvr_provider *tp = pvr_provider_table(&table, &ift_iface, &err);
    if (!tp)
        return fail("provider_table", err);
    pvr_provider *sp = pvr_provider_open(argv[1], &ift_iface, &err);
    if (!sp)
        return fail("provider_open", err);

    std::vector<std::thread> threads;
    for (long b = 1; b <= 2; b++)
        threads.emplace_back(runner, b * 100);
    pvr_report rep;
    std::memset(&rep, 0, sizeof rep);
    int links = 0, live = 0;
    for (int round = 0; round < 50; round++) {
        const pvr_provider *p = round % 3 == 0 ? tp : round % 3 == 1 ? sp : nullptr;
        State next = round % 3 == 0 ? State::table : round % 3 == 1 ? State::so : State::native;
        seq++;
        if (pvr_link(&ift_iface, p, nullptr, &rep, &err) != PVL_OK)
            return fail("link", err);
        state.store(next);
        seq++;
        links++, live += rep.live;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    seq++;
    if (pvr_unlink(&ift_iface, nullptr, &rep, &err) != PVL_OK)
        return fail("unlink", err);
    state.store(State::native);
    seq++;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    stop.store(true);
    for (auto &t : threads)
        t.join();
    Calc c{7};
    bool native_again = check_once(c, 5);
    std::printf("cxx: %d links (%d live) between a C++ table and a C++ shared object "
                "while 2 threads ran %ld checks: %ld wrong; native after unlink: %s\n",
                links, live, checks.load(), wrong.load(), native_again ? "yes" : "no");
    bool ok = wrong.load() == 0 && live == links && native_again && checks.load() > 0;
    std::printf("%s cxx:live_relink\n", ok ? "PASS" : "FAIL");
    pvr_provider_close(tp, nullptr);
    pvr_provider_close(sp, nullptr);
    return ok ? 0 : 1;
}
