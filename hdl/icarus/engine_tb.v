// Icarus testbench of the engine: loads a model image through the load port, runs one strip
// and writes the output bytes and the total cycle counter. It drives the ports exactly as the
// Rust drivers do (hdl/src/device.rs): inputs change while the clock is low, the ready/valid
// handshakes are sampled just before each rising edge.
`timescale 1ns/1ps
module tb;
    reg clock = 0;
    reg load_we = 0;
    reg [2:0] load_mem = 0;
    reg [31:0] load_addr = 0;
    reg [63:0] load_data = 0;
    reg start = 0;
    reg [15:0] strip_w = `W, strip_h = `H, keep_x0 = `KX0, keep_w = `KW;
    reg [7:0] in_data = 0;
    reg in_valid = 0;
    reg out_ready = 1;
    reg [7:0] cnt_sel = 0;
    wire busy, done, error, in_ready, out_valid;
    wire [7:0] out_data;
    wire [31:0] cnt_data;
    top uut(.clock(clock), .load_we(load_we), .load_mem(load_mem), .load_addr(load_addr),
            .load_data(load_data), .start(start), .strip_w(strip_w), .strip_h(strip_h),
            .keep_x0(keep_x0), .keep_w(keep_w), .busy(busy), .done(done), .error(error),
            .in_data(in_data), .in_valid(in_valid), .in_ready(in_ready), .out_data(out_data),
            .out_valid(out_valid), .out_ready(out_ready), .cnt_sel(cnt_sel), .cnt_data(cnt_data));

    reg [99:0] loads [0:`NLOADS-1];
    reg [7:0] inb [0:`NIN-1];
    integer k, i, nout, seen_done, f, cycles;

    task tick;
        begin
            #1 clock = 1;
            #1 clock = 0;
            cycles = cycles + 1;
        end
    endtask

    initial begin
        cycles = 0;
        $readmemh("loads.hex", loads);
        $readmemh("input.hex", inb);
        f = $fopen("output.hex", "w");
        for (k = 0; k < `NLOADS; k = k + 1) begin
            load_we = 1;
            load_mem = loads[k][98:96];
            load_addr = loads[k][95:64];
            load_data = loads[k][63:0];
            tick;
        end
        load_we = 0;
        tick;
        start = 1;
        tick;
        start = 0;
        i = 0; nout = 0; seen_done = 0;
        while (!(seen_done && nout == `NOUT)) begin
            in_valid = i < `NIN;
            in_data = (i < `NIN) ? inb[i] : 8'h0;
            #0.5;
            if (error) begin
                $fdisplay(f, "error");
                $finish;
            end
            if (in_valid && in_ready) i = i + 1;
            if (out_valid) begin
                $fdisplay(f, "%02x", out_data);
                nout = nout + 1;
            end
            if (done) seen_done = 1;
            #0.5 tick;
            if (cycles > `LIMIT) begin
                $fdisplay(f, "timeout");
                $finish;
            end
        end
        in_valid = 0;
        cnt_sel = 0;
        tick;
        #0.5 $fdisplay(f, "total %0d", cnt_data);
        $fclose(f);
        $finish;
    end
endmodule
