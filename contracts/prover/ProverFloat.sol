// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title The float unit of the one-step prover: exact f32/f64 on bit patterns.
/// @notice The step of one float numeric instruction of the lowered machine (interpreter/float.ts,
/// docs/MACHINE.md "Floats") on u64 slot values: IEEE 754 binary32/binary64, round to nearest even,
/// every NaN result of an arithmetic or conversion instruction the canonical positive quiet NaN
/// (f32 0x7fc00000, f64 0x7ff8000000000000), abs/neg/copysign on the bits. Everything is integer
/// arithmetic on 256-bit words: an operand is unpacked to (sign, significand, exponent), the exact
/// result is computed as an integer times a power of two (wide enough, plus a sticky bit), and one
/// rounding packs it (_roundPack). OneStepProver reaches it with a static call for the float
/// opcodes (its witness is the numeric one: the unit only sees the operands).
///
/// Opcodes: 0x5b..0x66 comparisons, 0x8b..0xa6 arithmetic, 0xa8..0xab/0xae..0xb1 trapping
/// truncations (traps 17 InvalidConversion on NaN, 3 IntegerOverflow out of range), 0xb2..0xbb
/// conversions to float, 0xc5..0xcc saturating truncations.
contract ProverFloat {
    /// The result of float opcode `op`: `x` is the first operand of a binary instruction (ignored
    /// by unary ones), `y` the top of the stack; f32 operands in the low 32 bits. Returns the value
    /// pushed (u64, i32 and f32 zero-extended) or, for a trapping truncation, trap != 0.
    function exec(uint256 op, uint256 x, uint256 y) external pure returns (uint256 r, uint256 trap) {
        (r, trap) = _exec(op, x, y);
    }

    /// exec for many cases (tests: thousands per eth_call). `cases`: 17 bytes each, op (1) ‖ x (8) ‖
    /// y (8); returns 9 bytes each: r (8) ‖ trap (1).
    function execPacked(bytes calldata cases) external pure returns (bytes memory out) {
        uint256 n = cases.length / 17;
        out = new bytes(9 * n);
        for (uint256 i = 0; i < n; i++) {
            uint256 op;
            uint256 x;
            uint256 y;
            assembly ("memory-safe") {
                let at := add(cases.offset, mul(i, 17))
                op := byte(0, calldataload(at))
                x := shr(192, calldataload(add(at, 1)))
                y := shr(192, calldataload(add(at, 9)))
            }
            (uint256 r, uint256 trap) = _exec(op, x, y);
            assembly ("memory-safe") {
                let o := add(add(out, 32), mul(i, 9))
                mstore(o, or(shl(192, r), shl(184, trap)))
            }
        }
    }

    function _exec(uint256 op, uint256 x, uint256 y) private pure returns (uint256 r, uint256 trap) {
        assembly ("memory-safe") {
            // ---- formats: f32 (M 23, EMAX 255, bias 127, sign bit 31), f64 (52, 2047, 1023, 63)
            function bitlen(v) -> n {
                if gt(v, 0xffffffffffffffffffffffffffffffff) { n := 128 v := shr(128, v) }
                if gt(v, 0xffffffffffffffff) { n := add(n, 64) v := shr(64, v) }
                if gt(v, 0xffffffff) { n := add(n, 32) v := shr(32, v) }
                if gt(v, 0xffff) { n := add(n, 16) v := shr(16, v) }
                if gt(v, 0xff) { n := add(n, 8) v := shr(8, v) }
                if gt(v, 0xf) { n := add(n, 4) v := shr(4, v) }
                if gt(v, 0x3) { n := add(n, 2) v := shr(2, v) }
                if gt(v, 0x1) { n := add(n, 1) v := shr(1, v) }
                n := add(n, v)
            }
            function nan(is64) -> b {
                b := 0x7fc00000
                if is64 { b := 0x7ff8000000000000 }
            }
            // unpack: sign, significand, exponent (value = sig * 2^e, e signed), class 0 finite, 1 inf, 2 NaN
            function unpack(b, is64) -> s, sig, e, cls {
                let M := 23
                let EMAX := 0xff
                let bias := 127
                if is64 {
                    M := 52
                    EMAX := 0x7ff
                    bias := 1023
                }
                s := and(shr(add(M, add(8, mul(is64, 3))), b), 1) // the sign bit: 31 or 63
                let E := and(shr(M, b), EMAX)
                sig := and(b, sub(shl(M, 1), 1))
                if eq(E, EMAX) { cls := add(1, iszero(iszero(sig))) }
                switch E
                case 0 { e := sub(sub(1, bias), M) }
                default {
                    sig := or(sig, shl(M, 1))
                    e := sub(sub(E, bias), M)
                }
            }
            // the float nearest to (-1)^s * sig * 2^e (round to nearest, ties to even), as bits
            function roundPack(s, sig, e, is64) -> b {
                let M := 23
                let EMAX := 0xff
                let bias := 127
                if is64 {
                    M := 52
                    EMAX := 0x7ff
                    bias := 1023
                }
                // exponent of the result's last place: the normal one, or the subnormal quantum
                let q := sub(add(e, sub(bitlen(sig), 1)), M)
                let qmin := sub(sub(1, bias), M)
                if slt(q, qmin) { q := qmin }
                let shift := sub(q, e)
                let m
                switch sgt(shift, 0)
                case 0 { m := shl(sub(0, shift), sig) } // exact (at most M + 1 bits)
                default {
                    switch gt(shift, 256)
                    case 1 { m := 0 } // below half the quantum: rounds to zero
                    default {
                        m := shr(shift, sig)
                        let rem := and(sig, sub(shl(shift, 1), 1))
                        let half := shl(sub(shift, 1), 1)
                        if or(gt(rem, half), and(eq(rem, half), and(m, 1))) { m := add(m, 1) }
                    }
                }
                if eq(m, shl(add(M, 1), 1)) {
                    m := shr(1, m)
                    q := add(q, 1)
                }
                switch lt(m, shl(M, 1))
                case 1 { b := m } // subnormal or zero (q == qmin)
                default {
                    let E := add(add(q, M), bias)
                    switch lt(E, EMAX)
                    case 1 { b := or(shl(M, E), sub(m, shl(M, 1))) }
                    default { b := shl(M, EMAX) } // overflow: infinity
                }
                b := or(b, shl(add(M, add(8, mul(is64, 3))), s))
            }
            function isqrt(v) -> z {
                if v {
                    z := shl(shr(1, add(bitlen(v), 1)), 1)
                    for {} 1 {} {
                        let t := shr(1, add(z, div(v, z)))
                        if iszero(lt(t, z)) { break }
                        z := t
                    }
                }
            }
            // an order on non-NaN floats: comparable keys (both zeros equal when `zeroEq`)
            function key(b, is64, zeroEq) -> k {
                let sb := 31
                if is64 { sb := 63 }
                let mag := and(b, sub(shl(sb, 1), 1))
                k := mag
                if shr(sb, b) {
                    k := sub(0, mag)
                    if iszero(zeroEq) { k := sub(k, 1) }
                }
            }
            function isNaN(b, is64) -> n {
                switch is64
                case 0 { n := gt(and(b, 0x7fffffff), 0x7f800000) }
                default { n := gt(and(b, 0x7fffffffffffffff), 0x7ff0000000000000) }
            }
            // x + y (sub: y's sign flipped by the caller)
            function fadd(xb, yb, is64) -> b {
                let sx, mx, ex, cx := unpack(xb, is64)
                let sy, my, ey, cy := unpack(yb, is64)
                if or(eq(cx, 2), eq(cy, 2)) { b := nan(is64) leave }
                if or(cx, cy) {
                    // an infinity: inf + -inf is NaN
                    if and(and(cx, cy), xor(sx, sy)) { b := nan(is64) leave }
                    b := yb
                    if cx { b := xb }
                    leave
                }
                if iszero(mx) {
                    b := yb
                    if iszero(my) { b := roundPack(and(sx, sy), 0, 0, is64) } // -0 + -0 = -0, else +0
                    leave
                }
                if iszero(my) { b := xb leave }
                // align on the smaller exponent; a much smaller operand cannot change the rounding
                let P := 24
                if is64 { P := 53 }
                if sgt(sub(ex, ey), add(P, 1)) { b := xb leave }
                if sgt(sub(ey, ex), add(P, 1)) { b := yb leave }
                let e := ex
                if slt(ey, ex) { e := ey }
                mx := shl(sub(ex, e), mx)
                my := shl(sub(ey, e), my)
                switch eq(sx, sy)
                case 1 { b := roundPack(sx, add(mx, my), e, is64) }
                default {
                    switch gt(mx, my)
                    case 1 { b := roundPack(sx, sub(mx, my), e, is64) }
                    default {
                        b := roundPack(sy, sub(my, mx), e, is64)
                        if eq(mx, my) { b := 0 } // an exact zero sum is +0
                    }
                }
            }
            function fmul(xb, yb, is64) -> b {
                let sx, mx, ex, cx := unpack(xb, is64)
                let sy, my, ey, cy := unpack(yb, is64)
                let s := xor(sx, sy)
                if or(eq(cx, 2), eq(cy, 2)) { b := nan(is64) leave }
                if or(cx, cy) {
                    // inf * 0 is NaN
                    if or(and(cx, iszero(or(my, cy))), and(cy, iszero(or(mx, cx)))) { b := nan(is64) leave }
                    b := roundPack(s, 1, 100000, is64) // overflows to infinity
                    leave
                }
                b := roundPack(s, mul(mx, my), add(ex, ey), is64)
            }
            function fdiv(xb, yb, is64) -> b {
                let sx, mx, ex, cx := unpack(xb, is64)
                let sy, my, ey, cy := unpack(yb, is64)
                let s := xor(sx, sy)
                if or(eq(cx, 2), eq(cy, 2)) { b := nan(is64) leave }
                if cx {
                    if cy { b := nan(is64) leave } // inf / inf
                    b := roundPack(s, 1, 100000, is64)
                    leave
                }
                if cy { b := roundPack(s, 0, 0, is64) leave } // finite / inf: zero
                if iszero(my) {
                    if iszero(mx) { b := nan(is64) leave } // 0 / 0
                    b := roundPack(s, 1, 100000, is64) // x / 0: infinity
                    leave
                }
                let K := 51
                if is64 { K := 109 }
                let n := shl(K, mx)
                let q := div(n, my)
                if mod(n, my) { q := or(q, 1) } // sticky: q has at least P + 3 bits
                b := roundPack(s, q, sub(sub(ex, ey), K), is64)
            }
            function fsqrt(yb, is64) -> b {
                let s, m, e, c := unpack(yb, is64)
                if eq(c, 2) { b := nan(is64) leave }
                if iszero(m) { b := yb leave } // ±0 (infinities have a significand)
                if s { b := nan(is64) leave } // negative, -inf included
                if c { b := yb leave } // +inf
                if and(e, 1) {
                    m := shl(1, m)
                    e := sub(e, 1)
                }
                let K := 27
                if is64 { K := 56 }
                let v := shl(shl(1, K), m)
                let z := isqrt(v)
                if iszero(eq(mul(z, z), v)) { z := or(z, 1) } // sticky: z has at least P + 3 bits
                b := roundPack(0, z, sub(sar(1, e), K), is64)
            }
            // ceil (0), floor (1), trunc (2), nearest (3)
            function fround(yb, is64, mode) -> b {
                let s, m, e, c := unpack(yb, is64)
                if eq(c, 2) { b := nan(is64) leave }
                if or(c, iszero(slt(e, 0))) { b := yb leave } // inf, or an integer (±0 included)
                let f := sub(0, e)
                let ip := 0
                let rem := m
                if lt(f, 256) {
                    ip := shr(f, m)
                    rem := and(m, sub(shl(f, 1), 1))
                }
                switch mode
                case 0 { if and(iszero(s), iszero(iszero(rem))) { ip := add(ip, 1) } }
                case 1 { if and(s, iszero(iszero(rem))) { ip := add(ip, 1) } }
                case 3 {
                    if lt(f, 256) {
                        let half := shl(sub(f, 1), 1)
                        if or(gt(rem, half), and(eq(rem, half), and(ip, 1))) { ip := add(ip, 1) }
                    }
                }
                b := roundPack(s, ip, 0, is64)
            }
            // |trunc(v)| of a finite float, and whether it is >= 2^64
            function truncMag(m, e) -> t, big {
                switch slt(e, 0)
                case 1 { if lt(sub(0, e), 256) { t := shr(sub(0, e), m) } }
                default {
                    switch gt(e, 64)
                    case 1 { big := 1 }
                    default {
                        t := shl(e, m)
                        big := gt(t, 0xffffffffffffffff)
                    }
                }
            }
            // truncation of float yb to integer kind k (0 i32_s, 1 i32_u, 2 i64_s, 3 i64_u)
            function ftrunc(yb, fromF64, k, sat) -> v, t {
                let s, m, e, c := unpack(yb, fromF64)
                let N := 32
                if gt(k, 1) { N := 64 }
                let signed := iszero(and(k, 1))
                let mask := sub(shl(N, 1), 1)
                if eq(c, 2) {
                    if iszero(sat) { t := 17 } // InvalidConversion
                    leave
                }
                let mag, big := truncMag(m, e)
                if c { big := 1 }
                // out of range: magnitude above the limit of the sign
                let over := big
                switch signed
                case 1 {
                    let lim := shl(sub(N, 1), 1)
                    if iszero(over) {
                        switch s
                        case 1 { over := gt(mag, lim) }
                        default { over := iszero(lt(mag, lim)) }
                    }
                }
                default {
                    if iszero(over) {
                        switch s
                        case 1 { over := iszero(iszero(mag)) }
                        default { over := gt(mag, mask) }
                    }
                }
                if over {
                    if iszero(sat) {
                        t := 3 // IntegerOverflow
                        leave
                    }
                    switch signed
                    case 1 {
                        v := sub(shl(sub(N, 1), 1), 1)
                        if s { v := shl(sub(N, 1), 1) }
                    }
                    default {
                        v := mask
                        if s { v := 0 }
                    }
                    leave
                }
                v := mag
                if s { v := and(sub(0, mag), mask) }
            }

            let is64 := 0
            switch lt(op, 0x8b)
            case 1 {
                // comparisons 0x5b..0x66: eq ne lt gt le ge
                let k := sub(op, 0x5b)
                if gt(k, 5) {
                    is64 := 1
                    k := sub(k, 6)
                }
                let xb := x
                let yb := y
                if iszero(is64) {
                    xb := and(x, 0xffffffff)
                    yb := and(y, 0xffffffff)
                }
                switch or(isNaN(xb, is64), isNaN(yb, is64))
                case 1 { r := eq(k, 1) }
                default {
                    let a := key(xb, is64, 1)
                    let c := key(yb, is64, 1)
                    switch k
                    case 0 { r := eq(a, c) }
                    case 1 { r := iszero(eq(a, c)) }
                    case 2 { r := slt(a, c) }
                    case 3 { r := sgt(a, c) }
                    case 4 { r := iszero(sgt(a, c)) }
                    default { r := iszero(slt(a, c)) }
                }
            }
            default {
                switch lt(op, 0xa7)
                case 1 {
                    // arithmetic 0x8b..0xa6: abs neg ceil floor trunc nearest sqrt add sub mul div min max copysign
                    let k := sub(op, 0x8b)
                    if gt(k, 13) {
                        is64 := 1
                        k := sub(k, 14)
                    }
                    let sb := 31
                    let xb := and(x, 0xffffffff)
                    let yb := and(y, 0xffffffff)
                    if is64 {
                        sb := 63
                        xb := x
                        yb := y
                    }
                    switch k
                    case 0 { r := and(yb, sub(shl(sb, 1), 1)) }
                    case 1 { r := xor(yb, shl(sb, 1)) }
                    case 6 { r := fsqrt(yb, is64) }
                    case 7 { r := fadd(xb, yb, is64) }
                    case 8 { r := fadd(xb, xor(yb, shl(sb, 1)), is64) }
                    case 9 { r := fmul(xb, yb, is64) }
                    case 10 { r := fdiv(xb, yb, is64) }
                    case 13 { r := or(and(xb, sub(shl(sb, 1), 1)), and(yb, shl(sb, 1))) }
                    default {
                        switch lt(k, 6)
                        case 1 { r := fround(yb, is64, sub(k, 2)) }
                        default {
                            // min (11), max (12): NaN if either is, -0 below +0
                            switch or(isNaN(xb, is64), isNaN(yb, is64))
                            case 1 { r := nan(is64) }
                            default {
                                let xsmall := slt(key(xb, is64, 0), key(yb, is64, 0))
                                r := yb
                                if eq(xsmall, eq(k, 11)) { r := xb }
                            }
                        }
                    }
                }
                default {
                    switch lt(op, 0xb2)
                    case 1 {
                        // trapping truncations 0xa8..0xab (to i32), 0xae..0xb1 (to i64)
                        let j := sub(op, 0xa8)
                        if gt(j, 3) { j := sub(j, 2) }
                        let fromF64 := iszero(iszero(and(j, 2)))
                        let yb := y
                        if iszero(fromF64) { yb := and(y, 0xffffffff) }
                        r, trap := ftrunc(yb, fromF64, add(shl(1, shr(2, j)), and(j, 1)), 0)
                    }
                    default {
                        switch lt(op, 0xbc)
                        case 1 {
                            // conversions to float 0xb2..0xbb
                            let j := sub(op, 0xb2)
                            if gt(j, 4) {
                                is64 := 1
                                j := sub(j, 5)
                            }
                            switch j
                            case 0 {
                                let v := signextend(3, y)
                                if slt(v, 0) { v := sub(0, v) }
                                r := roundPack(and(shr(31, y), 1), v, 0, is64)
                            }
                            case 1 { r := roundPack(0, and(y, 0xffffffff), 0, is64) }
                            case 2 {
                                let v := signextend(7, y)
                                if slt(v, 0) { v := sub(0, v) }
                                r := roundPack(shr(63, y), v, 0, is64)
                            }
                            case 3 { r := roundPack(0, y, 0, is64) }
                            default {
                                // demote (f64 -> f32) or promote (f32 -> f64)
                                let yb := y
                                if is64 { yb := and(y, 0xffffffff) }
                                let s, m, e, c := unpack(yb, iszero(is64))
                                switch c
                                case 2 { r := nan(is64) }
                                case 1 { r := roundPack(s, 1, 100000, is64) }
                                default { r := roundPack(s, m, e, is64) }
                            }
                        }
                        default {
                            // saturating truncations 0xc5..0xcc
                            let j := sub(op, 0xc5)
                            let fromF64 := iszero(iszero(and(j, 2)))
                            let yb := y
                            if iszero(fromF64) { yb := and(y, 0xffffffff) }
                            r, trap := ftrunc(yb, fromF64, add(shl(1, shr(2, j)), and(j, 1)), 1)
                        }
                    }
                }
            }
        }
    }
}
