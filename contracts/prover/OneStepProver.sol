// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IStepProver} from "./IStepProver.sol";
import {ProverFloatStep} from "./ProverFloatStep.sol";
import {ProverHost} from "./ProverHost.sol";
import {ProverMemory} from "./ProverMemory.sol";
import {ProverTables} from "./ProverTables.sol";

/// @title The one-step prover: step(preRoot, witness) -> postRoot (docs/STATE.md, docs/PROVER.md).
/// @notice Re-executes exactly one step of the lowered machine from the pre-state root and the
/// step's witness, or reverts with the reason the witness does not open that root. The contract is
/// stateless and has no constructor arguments. By instruction class:
///  - hot (this file): constants, jumps, branches, stack, locals, integer arithmetic, halt, trap,
///    and every step that does not execute — about 97% of a real run; they open only the hot part;
///  - ProverMemory: loads, stores, memory.size/grow/copy/fill;
///  - ProverHost: globals, call, call_indirect, return, input size/read, output write;
///  - ProverTables: table.get/set/size/grow/fill/copy/init, elem.drop, data.drop, memory.init;
///  - ProverFloatStep: float comparisons, arithmetic and conversions, computed by the float unit
///    (ProverFloat, a separate contract this one creates: a static call of the two operands);
///  ProverMemory, ProverHost and ProverTables parse the cold part with ProverCold. All of it but the
///  float unit fits one contract (see docs/PROVER.md for the sizes), so no other step pays for a
///  second account access.
contract OneStepProver is ProverMemory, ProverHost, ProverTables, ProverFloatStep, IStepProver {
    function step(bytes32 preRoot, bytes calldata witness) external view returns (bytes32) {
        uint256 w = _witnessOffset(witness);
        if (!_header(w, witness.length)) _notExecuted(preRoot);
        uint256 op = _op();
        uint256 info = _opInfo(op);
        // Float instructions route here, before anything else is parsed: they touch only the
        // operand stack (the "numeric" witness class), and the float unit proves them. Bit 128 of
        // the info byte (OPINFO_*) is free for that routing.
        if (info & INFO_COLD != 0) {
            _parseCold(preRoot);
            if (info & INFO_HOST != 0) _stepHost(op);
            else if (_isTableOp(op)) _stepTables(op);
            else _stepMemory(op);
        }
        _stack();
        if (op >= 0x20 && op <= 0x22) {
            // local.get / local.set / local.tee: open the local's leaf
            uint256 a;
            uint256 b;
            assembly ("memory-safe") {
                a := mload(R_A)
                b := mload(R_B)
            }
            bytes32 root = _openValues(a, b);
            assembly ("memory-safe") {
                mstore(LOCALS, root)
            }
        } else {
            _localsSealed();
        }
        _coldSealed();
        _checkPre(preRoot);
        _execute(op);
    }

    /// Executes a hot instruction on the checked pre-state and returns the post root.
    function _execute(uint256 op) private view {
        uint256 pc = _pc();
        uint256 depth;
        uint256 a;
        assembly ("memory-safe") {
            depth := and(shr(64, mload(REGS)), M32)
            a := mload(R_A)
        }
        if (op == 0xd2) {
            // RefFunc f: the reference f + 1
            assembly ("memory-safe") {
                mstore(R_OUT, add(a, 1))
            }
            _finish(pc + 1, 1, depth, 0);
        }
        if (op >= 0x45 && op < 0xe0) {
            (uint256 r, uint256 trap) = _isFloat(op) ? _float(op) : _numeric(op); // floats: ProverFloatStep
            if (trap != 0) _trapped(trap);
            assembly ("memory-safe") {
                mstore(R_OUT, r)
            }
            _finish(pc + 1, 1, depth, 0);
        }
        if (op < 0x45) {
            if (op == 0x1a) _finish(pc + 1, 0, depth, 0); // drop
            if (op == 0x1b) {
                // select [v1, v2, c]
                assembly ("memory-safe") {
                    let vals := mload(R_VALS)
                    let r := shr(192, calldataload(add(vals, 8)))
                    if and(shr(192, calldataload(add(vals, 16))), M32) { r := shr(192, calldataload(vals)) }
                    mstore(R_OUT, r)
                }
                _finish(pc + 1, 1, depth, 0);
            }
            if (op == 0x20) {
                // local.get
                assembly ("memory-safe") {
                    let leaf := calldataload(sub(mload(R_XPROOF), 32))
                    mstore(R_OUT, shr(192, shl(shl(6, and(a, 3)), leaf)))
                }
                _finish(pc + 1, 1, depth, 0);
            }
            if (op == 0x21 || op == 0x22) {
                // local.set / local.tee
                (bytes32 root, uint256 top) = _setValue(a);
                assembly ("memory-safe") {
                    mstore(R_OUT, top)
                    mstore(LOCALS, root)
                }
                _finish(pc + 1, op == 0x22 ? 1 : 0, depth, 0);
            }
            if (op == 0x41 || op == 0x43) {
                // i32.const, f32.const
                assembly ("memory-safe") {
                    mstore(R_OUT, a)
                }
                _finish(pc + 1, 1, depth, 0);
            }
            if (op == 0x42 || op == 0x44) {
                // i64.const, f64.const
                assembly ("memory-safe") {
                    mstore(R_OUT, or(shl(32, mload(R_B)), a))
                }
                _finish(pc + 1, 1, depth, 0);
            }
        } else {
            uint256 top;
            assembly ("memory-safe") {
                top := shr(192, calldataload(mload(R_VALS)))
            }
            if (op == 0xe0) _finish(a, 0, depth, 0); // jump
            if (op == 0xe1) _finish((top & M32) != 0 ? a : pc + 1, 0, depth, 0); // jump_if
            if (op == 0xe2) _finish((top & M32) == 0 ? a : pc + 1, 0, depth, 0); // jump_unless
            if (op == 0xe3) {
                // br_table: pc + 1 + min(u32(i), n)
                uint256 i = top & M32;
                _finish(pc + 1 + (i < a ? i : a), 0, depth, 0);
            }
            if (op == 0xe4) {
                // nip [x, y] -> [y]
                assembly ("memory-safe") {
                    mstore(R_OUT, shr(192, calldataload(add(mload(R_VALS), 8))))
                }
                _finish(pc + 1, 1, depth, 0);
            }
            if (op == 0xe8) _finish(pc, 0, depth, 1); // halt
            if (op == 0xf2) {
                // exit: pop the code into regs.exitCode (which _finish keeps) and halt
                assembly ("memory-safe") {
                    let regs := mload(REGS)
                    mstore(REGS, or(and(regs, not(shl(32, M32))), shl(32, and(top, M32))))
                }
                _finish(pc, 0, depth, 1);
            }
            if (op == 0xef) {
                // trap a (a = 0 is never emitted; the machine then only counts the step)
                if (a != 0) _trapped(a & 0xff);
                _finish(pc, 0, depth, 0);
            }
        }
        _fail(ERR_BADOPCODE); // unreachable: every valid instruction without INFO_COLD is handled above
    }

    /// Integer comparisons, arithmetic, conversions and sign extensions (WebAssembly semantics on
    /// u64 slots; i32 operands are the low 32 bits, i32 results zero-extended). Returns the result
    /// or a trap kind (division by zero, signed overflow).
    function _numeric(uint256 op) private pure returns (uint256 r, uint256 trap) {
        assembly ("memory-safe") {
            function bitlen(x) -> n {
                n := shl(5, gt(x, 0xffffffff))
                n := or(n, shl(4, gt(shr(n, x), 0xffff)))
                n := or(n, shl(3, gt(shr(n, x), 0xff)))
                n := or(n, shl(2, gt(shr(n, x), 0xf)))
                n := or(n, shl(1, gt(shr(n, x), 0x3)))
                n := or(n, gt(shr(n, x), 0x1))
                n := add(n, iszero(iszero(x)))
            }
            let vals := mload(R_VALS)
            let k := mload(R_K)
            // b: the top (second operand), a: the value below it (first operand of a binary op)
            let b := shr(192, calldataload(add(vals, shl(3, sub(k, 1)))))
            let a := 0
            if eq(k, 2) { a := shr(192, calldataload(vals)) }
            switch lt(op, 0x5b)
            case 1 {
                // comparisons 0x45..0x5a
                switch op
                case 0x45 { r := iszero(and(b, M32)) }
                case 0x50 { r := iszero(b) }
                default {
                    let is64 := gt(op, 0x50)
                    let x := a
                    let y := b
                    let sb := 7
                    if iszero(is64) {
                        x := and(a, M32)
                        y := and(b, M32)
                        sb := 3
                    }
                    let sx := signextend(sb, x)
                    let sy := signextend(sb, y)
                    switch sub(op, add(0x46, mul(is64, 0x0b)))
                    case 0 { r := eq(x, y) }
                    case 1 { r := iszero(eq(x, y)) }
                    case 2 { r := slt(sx, sy) }
                    case 3 { r := lt(x, y) }
                    case 4 { r := sgt(sx, sy) }
                    case 5 { r := gt(x, y) }
                    case 6 { r := iszero(sgt(sx, sy)) }
                    case 7 { r := iszero(gt(x, y)) }
                    case 8 { r := iszero(slt(sx, sy)) }
                    default { r := iszero(lt(x, y)) }
                }
            }
            default {
                switch lt(op, 0x8b)
                case 1 {
                    // i32 0x67..0x78, i64 0x79..0x8a: clz ctz popcnt add sub mul div_s div_u
                    // rem_s rem_u and or xor shl shr_s shr_u rotl rotr
                    let is64 := gt(op, 0x78)
                    let w := 32
                    let m := M32
                    let sb := 3
                    if is64 {
                        w := 64
                        m := M64
                        sb := 7
                    }
                    let x := and(a, m)
                    let y := and(b, m)
                    switch sub(op, add(0x67, mul(is64, 0x12)))
                    case 0 { r := sub(w, bitlen(y)) }
                    case 1 {
                        switch y
                        case 0 { r := w }
                        default { r := sub(bitlen(and(y, sub(0, y))), 1) }
                    }
                    case 2 {
                        let c := sub(y, and(shr(1, y), 0x5555555555555555))
                        c := add(and(c, 0x3333333333333333), and(shr(2, c), 0x3333333333333333))
                        c := and(add(c, shr(4, c)), 0x0f0f0f0f0f0f0f0f)
                        r := and(shr(56, mul(c, 0x0101010101010101)), 0xff)
                    }
                    case 3 { r := and(add(x, y), m) }
                    case 4 { r := and(sub(x, y), m) }
                    case 5 { r := and(mul(x, y), m) }
                    case 6 {
                        switch y
                        case 0 { trap := T_DIV0 }
                        default {
                            switch and(eq(x, shl(sub(w, 1), 1)), eq(y, m))
                            case 1 { trap := T_OVERFLOW }
                            default { r := and(sdiv(signextend(sb, x), signextend(sb, y)), m) }
                        }
                    }
                    case 7 {
                        switch y
                        case 0 { trap := T_DIV0 }
                        default { r := div(x, y) }
                    }
                    case 8 {
                        switch y
                        case 0 { trap := T_DIV0 }
                        default { r := and(smod(signextend(sb, x), signextend(sb, y)), m) }
                    }
                    case 9 {
                        switch y
                        case 0 { trap := T_DIV0 }
                        default { r := mod(x, y) }
                    }
                    case 10 { r := and(x, y) }
                    case 11 { r := or(x, y) }
                    case 12 { r := xor(x, y) }
                    case 13 { r := and(shl(and(y, sub(w, 1)), x), m) }
                    case 14 { r := and(sar(and(y, sub(w, 1)), signextend(sb, x)), m) }
                    case 15 { r := shr(and(y, sub(w, 1)), x) }
                    case 16 {
                        let n := and(y, sub(w, 1))
                        r := and(or(shl(n, x), shr(sub(w, n), x)), m)
                    }
                    default {
                        let n := and(y, sub(w, 1))
                        r := and(or(shr(n, x), shl(sub(w, n), x)), m)
                    }
                }
                default {
                    // conversions and sign extensions
                    switch op
                    case 0xa7 { r := and(b, M32) } // i32.wrap_i64
                    case 0xac { r := and(signextend(3, b), M64) } // i64.extend_i32_s
                    case 0xad { r := and(b, M32) } // i64.extend_i32_u
                    case 0xc0 { r := and(signextend(0, b), M32) } // i32.extend8_s
                    case 0xc1 { r := and(signextend(1, b), M32) } // i32.extend16_s
                    case 0xc2 { r := and(signextend(0, b), M64) } // i64.extend8_s
                    case 0xc3 { r := and(signextend(1, b), M64) } // i64.extend16_s
                    default { r := and(signextend(3, b), M64) } // 0xc4 i64.extend32_s
                }
            }
        }
    }
}
