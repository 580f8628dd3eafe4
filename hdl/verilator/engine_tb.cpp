// Verilator harness of the whole engine (`hdl/src/engine.rs`), driven by `bbcu_hdl::verilator`
// over stdin/stdout. It is generic over engine instances: every instance has the same ports,
// so one source is compiled against each instance's Verilog.
//
// It replays `bbcu_hdl::device::HdlDevice` cycle for cycle (same edges, same order of counter
// reads), so the two simulators can be compared on their cycle counters as well as on bytes.
//
// Protocol, little-endian, one request then one answer at a time:
//   'L' u32 n, n × (u8 mem, u32 addr, u64 data): one word per cycle through the load port,
//       then one cycle with `load_we` low.                      → 'k' u64 cycles_since_start
//   'S' u32 width, height, keep_x0, keep_w, n_in, want_out; u64 limit; u32 n_sel;
//       n_sel × u8 counter selects; n_in input bytes (HWC)
//       → 's' u8 status (0 done, 1 engine error, 2 cycle limit), u64 strip cycles (start
//         pulse to last output byte), u64 cycles_since_start, u32 input bytes taken,
//         u32 n_out, n_out bytes (HWC), n_sel × u32 counter values
//   'Q' or end of input: exit.
// No per-cycle output: throughput is the point of this simulator.

#include "Vtop.h"
#include "verilated.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

static void die(const char* what) {
    fprintf(stderr, "engine_tb: %s\n", what);
    exit(2);
}

static void get(void* p, size_t n) {
    if (n && fread(p, 1, n, stdin) != n) die("short read on stdin");
}
template <typename T> static T get() {
    T v;
    get(&v, sizeof v);
    return v;
}
static void put(const void* p, size_t n) {
    if (n && fwrite(p, 1, n, stdout) != n) die("short write on stdout");
}
template <typename T> static void put(T v) { put(&v, sizeof v); }

struct Harness {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vtop> t;
    uint64_t cycles = 0;

    Harness() : ctx(new VerilatedContext) {
        // Registers start at zero, as in rust-hdl's simulation.
        ctx->randReset(0);
        t.reset(new Vtop(ctx.get()));
        t->clock = 0;
        t->eval();
    }

    // One full cycle, as `bbcu_hdl::sim::tick`: the caller has settled the inputs already,
    // so the rising edge samples them; registered outputs are valid on return. The falling
    // edge is left to the caller's next settling `eval` (nothing in the design uses it):
    // Verilator 5.006 re-runs all input-driven logic on every `eval`, so two per cycle
    // instead of three is about 20 % faster.
    void tick() {
        t->clock = 1;
        t->eval();
        t->clock = 0;
        cycles++;
    }

    void load() {
        uint32_t n = get<uint32_t>();
        for (uint32_t i = 0; i < n; i++) {
            uint8_t mem = get<uint8_t>();
            uint32_t addr = get<uint32_t>();
            uint64_t data = get<uint64_t>();
            t->load_we = 1;
            t->load_mem = mem;
            t->load_addr = addr;
            t->load_data = data;
            t->eval();
            tick();
        }
        t->load_we = 0;
        t->load_mem = 0;
        t->load_addr = 0;
        t->load_data = 0;
        t->eval();
        tick();
        put<uint8_t>('k');
        put<uint64_t>(cycles);
    }

    void strip() {
        uint32_t w = get<uint32_t>(), h = get<uint32_t>(), x0 = get<uint32_t>(), kw = get<uint32_t>();
        uint32_t n_in = get<uint32_t>(), want = get<uint32_t>();
        uint64_t limit = get<uint64_t>();
        uint32_t n_sel = get<uint32_t>();
        std::vector<uint8_t> sel(n_sel), in(n_in), out;
        get(sel.data(), n_sel);
        get(in.data(), n_in);
        out.reserve(want);

        t->strip_w = w;
        t->strip_h = h;
        t->keep_x0 = x0;
        t->keep_w = kw;
        t->start = 1;
        t->eval();
        tick();
        t->start = 0;
        uint64_t start = cycles;
        uint32_t next_in = 0;
        bool done = false;
        uint8_t status = 0;
        while (!(done && out.size() == want)) {
            bool have = next_in < n_in;
            t->in_data = have ? in[next_in] : 0;
            t->in_valid = have;
            t->out_ready = 1;
            t->eval();
            if (t->error) {
                status = 1;
                break;
            }
            if (have && t->in_ready) next_in++;
            if (t->out_valid) out.push_back(t->out_data);
            done |= t->done != 0;
            tick();
            if (cycles - start > limit) {
                status = 2;
                break;
            }
        }
        uint64_t strip_cycles = cycles - start;
        t->in_data = 0;
        t->in_valid = 0;
        t->out_ready = 0;
        std::vector<uint32_t> cnt(n_sel, 0);
        if (status == 0) {
            for (uint32_t i = 0; i < n_sel; i++) {
                t->cnt_sel = sel[i];
                t->eval();
                tick();
                cnt[i] = t->cnt_data;
            }
        }
        put<uint8_t>('s');
        put<uint8_t>(status);
        put<uint64_t>(strip_cycles);
        put<uint64_t>(cycles);
        put<uint32_t>(next_in);
        put<uint32_t>((uint32_t)out.size());
        put(out.data(), out.size());
        put(cnt.data(), cnt.size() * sizeof(uint32_t));
    }
};

int main(int argc, char** argv) {
    static char inbuf[1 << 16], outbuf[1 << 16];
    setvbuf(stdin, inbuf, _IOFBF, sizeof inbuf);
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    Verilated::commandArgs(argc, argv);
    Harness h;
    for (;;) {
        int c = fgetc(stdin);
        if (c == EOF || c == 'Q') break;
        if (c == 'L')
            h.load();
        else if (c == 'S')
            h.strip();
        else
            die("unknown request");
        fflush(stdout);
    }
    h.t->final();
    return 0;
}
