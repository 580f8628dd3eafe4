// Verilator harness of the board top-level (`hdl/src/board_top.rs`): a serial line model on
// both UART pins, driven by `hdl/tests/board_verilator.rs` over stdin/stdout. The host's bytes
// are put on `uart_rx` bit by bit (8N1, `16 · divisor` clocks a bit, back to back); `uart_tx`
// is decoded by sampling the centre of every bit, independently of the design's receiver.
//
// Protocol, little-endian, one request then one answer at a time:
//   'S' u32 n, n × u16: bytes to send (bit 8 set: send the byte with a low stop bit, a framing
//       error), queued behind those not yet sent.                        → nothing
//   'R' u64 max_cycles, u32 want: run until `want` bytes were received since the last 'R' and
//       the send queue is empty, or `max_cycles` more clocks have passed.
//       → 'r' u64 cycles, u8 led, u32 n, n × (u8 byte, u8 stop_ok, u64 cycle of its stop bit)
//   'Q' or end of input: exit.
// argv[1]: the UART divisor.

#include "Vtop.h"
#include "verilated.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <vector>

static void die(const char* what) {
    fprintf(stderr, "board_tb: %s\n", what);
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

struct Rx {
    uint8_t byte;
    uint8_t ok;
    uint64_t at;
};

struct Line {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vtop> t;
    uint64_t bit;
    uint64_t cycles = 0;
    // Sending into the design.
    std::deque<uint16_t> q;
    bool sending = false;
    uint16_t cur = 0;
    uint64_t tx_t = 0;
    // Receiving from the design.
    bool rx_busy = false;
    uint64_t rx_t = 0;
    unsigned rx_sh = 0;
    std::vector<Rx> got;

    explicit Line(uint64_t divisor) : ctx(new VerilatedContext), bit(16 * divisor) {
        ctx->randReset(0);
        t.reset(new Vtop(ctx.get()));
        t->clock = 0;
        t->uart_rx = 1;
        t->eval();
    }

    void cycle() {
        bool level = true;
        if (!sending && !q.empty()) {
            cur = q.front();
            q.pop_front();
            sending = true;
            tx_t = 0;
        }
        if (sending) {
            uint64_t b = tx_t / bit;
            level = b == 0 ? false : b <= 8 ? ((cur >> (b - 1)) & 1) != 0 : (cur & 0x100) == 0;
            if (++tx_t == 10 * bit) sending = false;
        }
        t->uart_rx = level;
        t->clock = 0;
        t->eval();
        t->clock = 1;
        t->eval();
        cycles++;
        bool l = t->uart_tx != 0;
        if (!rx_busy) {
            if (!l) {
                rx_busy = true;
                rx_t = 0;
                rx_sh = 0;
            }
            return;
        }
        rx_t++;
        if (rx_t < bit / 2 || (rx_t - bit / 2) % bit != 0) return;
        uint64_t k = (rx_t - bit / 2) / bit;
        if (k == 0) {
            if (l) rx_busy = false;  // a glitch, not a start bit
        } else if (k <= 8) {
            rx_sh |= (l ? 1u : 0u) << (k - 1);
        } else {
            got.push_back(Rx{(uint8_t)rx_sh, (uint8_t)(l ? 1 : 0), cycles});
            rx_busy = false;
        }
    }
};

int main(int argc, char** argv) {
    static char inbuf[1 << 16], outbuf[1 << 16];
    setvbuf(stdin, inbuf, _IOFBF, sizeof inbuf);
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    if (argc < 2) die("usage: vboard DIVISOR");
    Verilated::commandArgs(argc, argv);
    Line line(strtoull(argv[1], nullptr, 10));
    for (;;) {
        int c = fgetc(stdin);
        if (c == EOF || c == 'Q') break;
        if (c == 'S') {
            uint32_t n = get<uint32_t>();
            for (uint32_t i = 0; i < n; i++) line.q.push_back(get<uint16_t>());
        } else if (c == 'R') {
            uint64_t max = get<uint64_t>();
            uint32_t want = get<uint32_t>();
            uint64_t end = line.cycles + max;
            while (line.cycles < end && !(line.got.size() >= want && line.q.empty() && !line.sending)) line.cycle();
            put<uint8_t>('r');
            put<uint64_t>(line.cycles);
            put<uint8_t>(line.t->led);
            put<uint32_t>((uint32_t)line.got.size());
            for (const Rx& r : line.got) {
                put<uint8_t>(r.byte);
                put<uint8_t>(r.ok);
                put<uint64_t>(r.at);
            }
            line.got.clear();
            fflush(stdout);
        } else {
            die("unknown request");
        }
    }
    line.t->final();
    return 0;
}
