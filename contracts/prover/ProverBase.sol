// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title Shared machinery of the one-step prover.
/// @notice Port of interpreter/verify.ts (docs/STATE.md is the normative text). Every function
/// reads the witness straight from calldata at offsets computed from fields already read (no
/// decoding, no copies), keeps the parsed state in a fixed memory map (below) and hashes fixed-size
/// preimages in place. Checks happen in the same order as in verify.ts, so that a malformed witness
/// reverts with the same error as the reference verifier throws.
///
/// Memory map (never allocated through Solidity; everything lives past the free memory pointer 0x80,
/// which no code here moves):
///   0x080 SCR   scratch for Merkle nodes (65 B), stack pushes (41 B) and frame pushes (69 B)
///   0x100 LB    two memory leaves side by side (64 B) for loads/stores across a leaf boundary
///   0x160..0x21f  state-root preimage: word 0x160 holds 0x10 in its last byte, then
///                 REGS ‖ STACK ‖ LOCALS ‖ CODEROOT ‖ COLD  ->  keccak256(0x17f, 161)
///   0x220..0x29f  cold preimage: word 0x220 = 0x11 ‖ memInfo (low 9 bytes), then
///                 MEMROOT ‖ FRAMES ‖ AUX                   ->  keccak256(0x237, 105)
///   0x2a0..0x33f  aux preimage: word 0x2a0 = 0x12 ‖ limits (low 21 bytes), then
///                 GLOBALS ‖ TABLE ‖ INPUT ‖ OUTPUT          ->  keccak256(0x2ab, 149)
///   0x340..       registers of the parse (offsets into calldata, decoded fields)
/// So the pre and post roots are hashed where the parse and the step leave their components: no
/// preimage is ever assembled by copying.
abstract contract ProverBase {
    /// The witness ends before the layout its fields imply.
    error Truncated();
    /// Bytes left over after the layout.
    error BadLength();
    /// A field outside its range (reserved byte set, depth > 32, pc outside the code tree, ...).
    error BadField();
    /// The instruction is not part of the lowered instruction set.
    error BadOpcode();
    /// An embedding-only instruction (CallHost, GlobalGetExt/SetExt) or a foreign table element.
    error Unprovable();
    /// The opened state does not hash to the pre-state root.
    error RootMismatch();

    // ---- error selectors (test/contracts/prover.test.ts checks them against the declarations)
    uint256 internal constant ERR_TRUNCATED = 0xcdda5c84;
    uint256 internal constant ERR_BADLENGTH = 0x5aed9cff;
    uint256 internal constant ERR_BADFIELD = 0x63ff03ee;
    uint256 internal constant ERR_BADOPCODE = 0x155405ee;
    uint256 internal constant ERR_UNPROVABLE = 0x17539655;
    uint256 internal constant ERR_ROOTMISMATCH = 0x5ade0455;

    // ---- memory map
    uint256 internal constant SCR = 0x80;
    uint256 internal constant LB = 0x100;
    uint256 internal constant ST_PRE = 0x160; // word holding the 0x10 prefix in its last byte
    uint256 internal constant REGS = 0x180;
    uint256 internal constant STACK = 0x1a0;
    uint256 internal constant LOCALS = 0x1c0;
    uint256 internal constant CODEROOT = 0x1e0;
    uint256 internal constant COLD = 0x200;
    uint256 internal constant MEMINFO = 0x220; // 0x11 << 64 | memPages << 32 | outLen
    uint256 internal constant MEMROOT = 0x240;
    uint256 internal constant FRAMES = 0x260;
    uint256 internal constant AUX = 0x280;
    uint256 internal constant LIMITS = 0x2a0; // 0x12 << 160 | the 20 bytes of limits
    uint256 internal constant GLOBALS = 0x2c0;
    uint256 internal constant TABLE = 0x2e0;
    uint256 internal constant INPUT = 0x300;
    uint256 internal constant OUTPUT = 0x320;
    uint256 internal constant R_W = 0x340; // calldata offset of the witness
    uint256 internal constant R_E = 0x360; // calldata offset of its end
    uint256 internal constant R_O = 0x380; // running offset
    uint256 internal constant R_OP = 0x3a0;
    uint256 internal constant R_A = 0x3c0;
    uint256 internal constant R_B = 0x3e0;
    uint256 internal constant R_C = 0x400;
    uint256 internal constant R_K = 0x420; // values read from the stack
    uint256 internal constant R_BELOW = 0x440; // stack hash below them
    uint256 internal constant R_VALS = 0x460; // calldata offset of v[0] (u64 each, v[k-1] the top)
    uint256 internal constant R_OUT = 0x480; // values pushed by the step: 0x480, 0x4a0, 0x4c0
    uint256 internal constant R_XPROOF = 0x4e0; // local or global leaf's proof offset (leaf 32 bytes before)
    uint256 internal constant R_XDEPTH = 0x500;
    uint256 internal constant R_ILEAF = 0x540; // input leaf offset (0: sealed)
    uint256 internal constant R_OPROOF = 0x560; // output proof offset (0: sealed)
    uint256 internal constant R_ODEPTH = 0x580;
    uint256 internal constant R_FRAMEAT = 0x5a0;
    uint256 internal constant R_MEMP = 0x5c0;
    uint256 internal constant R_MEMQ = 0x5e0;
    uint256 internal constant R_MLEAF = 0x600; // offset of the (first) memory leaf (0: sealed)
    uint256 internal constant R_MPROOF = 0x620;
    uint256 internal constant R_MEMD = 0x640;
    uint256 internal constant R_TRAP = 0x660; // trap decided while parsing (0: none)
    uint256 internal constant R_CHUNK = 0x680; // bytes a resumable operation moves this step
    // TABLES: entries a (lower index) and b (the second one, when two), 8 words each (E_* fields)
    uint256 internal constant EA = 0x6a0;
    uint256 internal constant EB = 0x7a0;
    uint256 internal constant E_IDX = 0x00; // entry index in the tables tree
    uint256 internal constant E_LEN = 0x20;
    uint256 internal constant E_D = 0x40; // depth of its elements tree
    uint256 internal constant E_P = 0x60; // element leaves opened: p, q (NONE: none; p == q: one)
    uint256 internal constant E_Q = 0x80;
    uint256 internal constant E_LEAF = 0xa0; // calldata offset of leaf p (leaf q follows when two)
    uint256 internal constant E_PROOF = 0xc0; // calldata offset of the elements proof
    uint256 internal constant E_ROOT = 0xe0; // elements root
    uint256 internal constant R_TWO = 0x8a0; // 1 when two entries are open
    uint256 internal constant R_TPROOF = 0x8c0; // calldata offset of the tables tree proof
    uint256 internal constant R_TN = 0x8e0; // depth of the tables tree
    uint256 internal constant R_FUNC = 0x900; // calldata offset of the FUNC leaf (0: none)
    uint256 internal constant NONE = 0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff;

    // ---- regs word (docs/STATE.md §2.1): pc 0..3, steps 4..9, stepLimit 10..15, sp 16..19,
    //      depth 20..23, exitCode 24..27, status 28, trap 29, codeDepth 30, reserved 31
    //      (as bit offsets: steps 176, stepLimit 128, sp 96, depth 64, exitCode 32)
    uint256 internal constant M32 = 0xffffffff;
    uint256 internal constant M48 = 0xffffffffffff;
    uint256 internal constant M64 = 0xffffffffffffffff;
    /// Fields a normal step keeps: stepLimit, exitCode, trap, codeDepth, reserved.
    uint256 internal constant KEEP_STEP = 0x00000000000000000000ffffffffffff0000000000000000ffffffff00ffffff;
    /// Fields a trapping step keeps: all but steps, status and trap.
    uint256 internal constant KEEP_TRAP = 0xffffffff000000000000ffffffffffffffffffffffffffffffffffff0000ffff;

    // ---- trap kinds (interpreter/isa.ts)
    uint256 internal constant T_DIV0 = 2;
    uint256 internal constant T_OVERFLOW = 3;
    uint256 internal constant T_OOB = 4;
    uint256 internal constant T_TYPE = 5;
    uint256 internal constant T_UNDEFINED = 6;
    uint256 internal constant T_UNINIT = 7;
    uint256 internal constant T_CALLSTACK = 8;
    uint256 internal constant T_VALUESTACK = 9;
    uint256 internal constant T_STEPLIMIT = 10;
    uint256 internal constant T_INPUT = 12;
    uint256 internal constant T_OUTPUT = 13;
    uint256 internal constant T_OOBTABLE = 16;

    // ---- opcode tables, generated from verify.ts by test/contracts/prover-tables.ts.
    // Byte j of OPINFO_i describes opcode 32i+j: bits 0-1 values read from the stack (k), 4 valid,
    // 8 embedding-only, 16 opens the cold part (routed to a sub-prover), 32 opens aux, 64 ProverHost.
    uint256 internal constant INFO_VALID = 4;
    uint256 internal constant INFO_UNPROVABLE = 8;
    uint256 internal constant INFO_COLD = 16;
    uint256 internal constant INFO_AUX = 32;
    uint256 internal constant INFO_HOST = 64;
uint256 internal constant OPINFO_0 = 0x0000000000000000000000000000000000000000000000000000050700000000;
    uint256 internal constant OPINFO_1 = 0x0405057475353600151515151515151515151515151516161616161616161614;
    uint256 internal constant OPINFO_2 = 0x3504040404050606060606060606060605060606060606060606060606060606;
    uint256 internal constant OPINFO_3 = 0x0606060606060605050506060606060606060606060606060605050506060606;
    uint256 internal constant OPINFO_4 = 0x0606060606060606060606050505050505050606060606060605050505050505;
    uint256 internal constant OPINFO_5 = 0x0606060606060605050505050505050505050505050505050505050500000000;
    uint256 internal constant OPINFO_6 = 0x0505050505050505050505050500000000000400000000000000000000000000;
    uint256 internal constant OPINFO_7 = 0x0405050506747554040874777617170408080534363737373437000000000000;
    /// Nibble per load/store 0x28..0x3e at bits 4(op-0x28): log2(size) | signed << 2 | i64 << 3.
    uint256 internal constant MEMOPS = 0x210103232ae9d8c1504b2b2;

    // ================================================================================================
    // Helpers

    /// Info byte of an opcode (see OPINFO_*).
    function _opInfo(uint256 op) internal pure returns (uint256 info) {
        assembly ("memory-safe") {
            let w
            switch shr(7, op)
            case 0 {
                switch shr(5, op)
                case 0 { w := OPINFO_0 }
                case 1 { w := OPINFO_1 }
                case 2 { w := OPINFO_2 }
                default { w := OPINFO_3 }
            }
            default {
                switch shr(5, op)
                case 4 { w := OPINFO_4 }
                case 5 { w := OPINFO_5 }
                case 6 { w := OPINFO_6 }
                default { w := OPINFO_7 }
            }
            info := byte(and(op, 31), w)
        }
    }

    /// Root of a values tree (locals or globals, 4 u64 per leaf) after value `a` becomes the stack
    /// top, from the opened leaf and its proof (R_XPROOF, R_XDEPTH). Also returns the top.
    function _setValue(uint256 a) internal pure returns (bytes32 root, uint256 top) {
        bytes32 leaf;
        uint256 at;
        uint256 d;
        assembly ("memory-safe") {
            at := mload(R_XPROOF)
            d := mload(R_XDEPTH)
            let sh := shl(6, and(a, 3))
            let m := shr(sh, shl(192, M64))
            top := shr(192, calldataload(mload(R_VALS)))
            leaf := or(and(calldataload(sub(at, 32)), not(m)), shr(sh, shl(192, top)))
        }
        root = _climb(leaf, a >> 2, at, d);
    }

    /// Root of a fixed-depth tree from leaf `h` at `index` and `depth` siblings at calldata `at`.
    function _climb(bytes32 h, uint256 index, uint256 at, uint256 depth) internal pure returns (bytes32 r) {
        assembly ("memory-safe") {
            mstore8(SCR, 1)
            for { let end := add(at, shl(5, depth)) } lt(at, end) { at := add(at, 32) } {
                // the running node goes left when the index bit is 0, right when it is 1
                let s := shl(5, and(index, 1))
                mstore(add(add(SCR, 1), s), h)
                mstore(sub(add(SCR, 33), s), calldataload(at))
                h := keccak256(SCR, 65)
                index := shr(1, index)
            }
            r := h
        }
    }

    /// Merkle node H(0x01 ‖ l ‖ r).
    function _node(bytes32 l, bytes32 r) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore8(SCR, 1)
            mstore(add(SCR, 1), l)
            mstore(add(SCR, 33), r)
            h := keccak256(SCR, 65)
        }
    }

    /// Bit length of x (0 for 0), x < 2^64.
    function _bitlen(uint256 x) internal pure returns (uint256 r) {
        assembly ("memory-safe") {
            r := shl(5, gt(x, 0xffffffff))
            r := or(r, shl(4, gt(shr(r, x), 0xffff)))
            r := or(r, shl(3, gt(shr(r, x), 0xff)))
            r := or(r, shl(2, gt(shr(r, x), 0xf)))
            r := or(r, shl(1, gt(shr(r, x), 0x3)))
            r := or(r, gt(shr(r, x), 0x1))
            r := add(r, iszero(iszero(x)))
        }
    }

    /// Tree depth for n leaves: 0 for n <= 1, else ceil(log2 n).
    function _depthFor(uint256 n) internal pure returns (uint256) {
        if (n <= 1) return 0;
        return _bitlen(n - 1);
    }

    /// Depth of a 4-values-per-leaf tree (locals, globals) of n values.
    function _valuesDepth(uint256 n) internal pure returns (uint256) {
        return _depthFor((n + 3) >> 2);
    }

    /// Root of two distinct leaves p < q of a depth-d tree and their combined proof at `at`
    /// (docs/STATE.md "Two-leaf proofs").
    function _climb2(bytes32 lp, bytes32 lq, uint256 p, uint256 q, uint256 at, uint256 depth) internal pure returns (bytes32) {
        uint256 t = _bitlen(p ^ q);
        bytes32 np = _climb(lp, p, at, t - 1);
        bytes32 nq = _climb(lq, q, at + 32 * (t - 1), t - 1);
        return _climb(_node(np, nq), p >> t, at + 64 * (t - 1), depth - t);
    }

    /// Z[h] = H(0x01 ‖ Z[h-1] ‖ Z[h-1]), Z[0] = 0: the root of an all-zero tree of height h.
    /// (Test: prover.test.ts recomputes all 33 with keccak.) Past 32 no tree exists: BadField.
    function _zero(uint256 h) internal pure returns (bytes32 z) {
        assembly ("memory-safe") {
            switch lt(h, 16)
            case 1 {
                switch h
                case 0 { z := 0 }
                case 1 { z := 0xc07a1e8b7e0057673fdc2affe190d8a960c5fe615663f27b7ce84f3d93ef92a6 }
                case 2 { z := 0xfd47517474a597637d54038a0663d1d03b931b238de06b73e3c12cf443de6e8d }
                case 3 { z := 0x47a8f5e8fa70be2760378067c9c6d410dd96be07820b4230c11254c7ff10c298 }
                case 4 { z := 0xaed19ca4bfe2365b1b33fa94744cd0c6a2d550506c7e7efc073879cb79459b9a }
                case 5 { z := 0x6e6998a7da8b2db5c98eb853099d8caec63797b5283b7dac37b2ffb630a86e24 }
                case 6 { z := 0x181c19735bff23b55bc295fc0b60c1c5c7288209b261a08e26924598ce72404e }
                case 7 { z := 0xecb408b290ab2920e63611ef1e8ca964aebb66ea5739f19d24b92094f28e44f8 }
                case 8 { z := 0x294bf9785e1391d24d52abf915636a73bdaa12ed29e85e21dae14c09d0f2e34b }
                case 9 { z := 0xcf7e37a934683edec795e3529db8fac0863519c2419ba24c0f6e4efa86ec7d1a }
                case 10 { z := 0x72ce48cca9bc743fed84a0bdc00ad2c5b540323849c982f671a9bd8d52d15719 }
                case 11 { z := 0x0e2d7d0b695fdcd9dc6c54313ae652218375c3358d34ade3dcc49dda05c0db10 }
                case 12 { z := 0xa0a786a71d24007a23f5ce21e6997a305baeefaf348937a8b74974cb039c10c8 }
                case 13 { z := 0x0628cb6496193e6a55ece4a8240384e142273eeb9cc4bdae680f971fd1929f10 }
                case 14 { z := 0x2c3b833a3ca9d6f02055871655dd18f003a279f84a334bf6050899a9bc1cedc3 }
                case 15 { z := 0x1a6c5e9fd899efca64c2aca6243434b423d791f92a839c0c92ce0a5a51a07234 }
                default {}
            }
            default {
                switch h
                case 16 { z := 0xa9942b0fabdf9bf32241f8245eb26737ffbd91822ac484ae857fc35d21fb652f }
                case 17 { z := 0x7e4206a110a8721cc68455c35400b056251398dfcf98b04aeee19549bfd2122f }
                case 18 { z := 0xbfb429bfebb3aa270012d8063896d205bfd8ce116e4a304335bd59e9471f9fcc }
                case 19 { z := 0xe22fa8fff28cfb1f3664382ced6d3f1d634ef2851c10b1dce18c57c957985bf9 }
                case 20 { z := 0xd29bf231e30afb5cd1bc01d214e905c60c87533bf967a94877b3843bb0bdef5d }
                case 21 { z := 0x146d57f70bcb580465116619359a35ece364f17e8d56524b5eee8bf6b8ebfdf6 }
                case 22 { z := 0xcdbc0759e847f96beb000c3cc51e30f8b2ccac5dcc5c409fea938a3345f8b603 }
                case 23 { z := 0x86e4b0792326c35995f1563b0d8f99fc38b0348a356e149c04b2783d5bd4cfb8 }
                case 24 { z := 0x45965170d4d5afdbc7dd54ef3beb044e3a61bdc1a96a4d31beaaee6b75a3f063 }
                case 25 { z := 0xb4603e46f0de988e62ff27b69f4d393a18f5ed31ea265fee69e73dc4eeddc902 }
                case 26 { z := 0xb394b29ffe4175348b892c892e0eee5e565c83ebbe247de17cd9bf999d75d2b7 }
                case 27 { z := 0xad44e31db4754e01afbb20b8aceb34ce5ef195a9701a7115326091c4fedb5a44 }
                case 28 { z := 0x0bf2ca8aa236c35d3e7bd0ba97c8e772194462c90b5bb6caea4774e4100e95ef }
                case 29 { z := 0xde0aa4f414066517b910862d802e616c418bf24150940c3b74b46e6a4e84b15a }
                case 30 { z := 0x5368cf00e43190f04a959a2bfd87d648b02bb4494a00b755c1198da350e04cdb }
                case 31 { z := 0x223c1c9f16dfa65bdc98bd2ff419b6f1c47596c3f1eed71c5a3d3c2a3c33f99b }
                case 32 { z := 0x7c1d0e8a93ea9c09cc13b91ead8f72de66a33cb695c30934dc2d75bffac1248e }
                default {
                    mstore(0, shl(224, ERR_BADFIELD))
                    revert(0, 4)
                }
            }
        }
    }

    function _fail(uint256 selector) internal pure {
        assembly ("memory-safe") {
            mstore(0, shl(224, selector))
            revert(0, 4)
        }
    }

    // ================================================================================================
    // Parse (verify.ts: header, STACK, LOCALS) and the root check

    /// Header: regs, code leaf and code proof. Records the instruction and the code root; returns
    /// whether the instruction executes (running and below the step limit).
    function _header(uint256 w, uint256 len) internal pure returns (bool executes) {
        uint256 pc_;
        uint256 cd;
        bytes32 leaf;
        assembly ("memory-safe") {
            function fail(s) {
                mstore(0, shl(224, s))
                revert(0, 4)
            }
            let e := add(w, len)
            mstore(R_W, w)
            mstore(R_E, e)
            if gt(add(w, 64), e) { fail(ERR_TRUNCATED) }
            let regs := calldataload(w)
            if byte(31, regs) { fail(ERR_BADFIELD) }
            cd := byte(30, regs)
            if gt(cd, 32) { fail(ERR_BADFIELD) }
            pc_ := shr(224, regs)
            if iszero(lt(shr(1, pc_), shl(cd, 1))) { fail(ERR_BADFIELD) }
            let o := add(add(w, 64), shl(5, cd))
            if gt(o, e) { fail(ERR_TRUNCATED) }
            leaf := calldataload(add(w, 32))
            // instruction pc % 2 of the leaf: op u8 ‖ 3 zero bytes ‖ a u32 ‖ b u32 ‖ c u32
            let ins := calldataload(add(add(w, 32), shl(4, and(pc_, 1))))
            if and(shr(224, ins), 0xffffff) { fail(ERR_BADFIELD) }
            mstore(ST_PRE, 0x10)
            mstore(REGS, regs)
            mstore(R_O, o)
            mstore(R_OP, byte(0, ins))
            mstore(R_A, and(shr(192, ins), M32))
            mstore(R_B, and(shr(160, ins), M32))
            mstore(R_C, and(shr(128, ins), M32))
            executes := and(iszero(byte(28, regs)), lt(and(shr(176, regs), M48), and(shr(128, regs), M48)))
        }
        bytes32 root = _climb(leaf, pc_ >> 1, w + 64, cd);
        assembly ("memory-safe") {
            mstore(CODEROOT, root)
        }
    }

    /// A step that does not execute: a terminal state (post root = pre root) or the step limit
    /// (trap StepLimit). The witness is the header and the three sealed hot components. Returns.
    function _notExecuted(bytes32 preRoot) internal pure {
        assembly ("memory-safe") {
            function fail(s) {
                mstore(0, shl(224, s))
                revert(0, 4)
            }
            let o := mload(R_O)
            let e := mload(R_E)
            let end := add(o, 96)
            if gt(end, e) { fail(ERR_TRUNCATED) }
            if lt(end, e) { fail(ERR_BADLENGTH) }
            let regs := mload(REGS)
            calldatacopy(STACK, o, 64) // stackHash ‖ localsRoot
            mstore(COLD, calldataload(add(o, 64)))
            if iszero(eq(keccak256(add(ST_PRE, 31), 161), preRoot)) { fail(ERR_ROOTMISMATCH) }
            if iszero(byte(28, regs)) {
                let steps1 := and(add(shr(176, regs), 1), M48)
                mstore(REGS, or(and(regs, KEEP_TRAP), or(shl(176, steps1), or(shl(24, 2), shl(16, T_STEPLIMIT)))))
                mstore(0, keccak256(add(ST_PRE, 31), 161))
                return(0, 32)
            }
            mstore(0, preRoot)
            return(0, 32)
        }
    }

    /// STACK: below ‖ v[0..k-1]. Checks the opcode, records k and the stack hash.
    function _stack() internal pure {
        uint256 info = _opInfo(_op());
        assembly ("memory-safe") {
            function fail(s) {
                mstore(0, shl(224, s))
                revert(0, 4)
            }
            if and(info, INFO_UNPROVABLE) { fail(ERR_UNPROVABLE) }
            if iszero(and(info, INFO_VALID)) { fail(ERR_BADOPCODE) }
            let k := and(info, 3)
            mstore(R_K, k)
            if lt(and(shr(96, mload(REGS)), M32), k) { fail(ERR_BADFIELD) }
            let o := mload(R_O)
            let h := calldataload(o)
            mstore(R_BELOW, h)
            o := add(o, 32)
            mstore(R_VALS, o)
            mstore8(SCR, 2)
            for { let end := add(o, shl(3, k)) } lt(o, end) { o := add(o, 8) } {
                mstore(add(SCR, 1), h)
                mstore(add(SCR, 33), calldataload(o))
                h := keccak256(SCR, 41)
            }
            if gt(o, mload(R_E)) { fail(ERR_TRUNCATED) }
            mstore(STACK, h)
            mstore(R_O, o)
        }
    }

    /// LOCALS sealed: the locals root.
    function _localsSealed() internal pure {
        assembly ("memory-safe") {
            let o := mload(R_O)
            mstore(LOCALS, calldataload(o))
            mstore(R_O, add(o, 32))
        }
    }

    /// The cold part sealed: its hash.
    function _coldSealed() internal pure {
        assembly ("memory-safe") {
            let o := mload(R_O)
            mstore(COLD, calldataload(o))
            mstore(R_O, add(o, 32))
        }
    }

    /// Opens a 4-values-per-leaf tree (locals, globals) at the running offset: index a < n values.
    /// Records the proof offset and depth; returns the root.
    function _openValues(uint256 a, uint256 n) internal pure returns (bytes32 root) {
        uint256 o;
        assembly ("memory-safe") {
            o := mload(R_O)
            if gt(o, mload(R_E)) {
                mstore(0, shl(224, ERR_TRUNCATED))
                revert(0, 4)
            }
            if iszero(lt(a, n)) {
                mstore(0, shl(224, ERR_BADFIELD))
                revert(0, 4)
            }
        }
        uint256 d = _valuesDepth(n);
        bytes32 leaf;
        assembly ("memory-safe") {
            leaf := calldataload(o)
            mstore(R_XPROOF, add(o, 32))
            mstore(R_XDEPTH, d)
            mstore(R_O, add(add(o, 32), shl(5, d)))
        }
        root = _climb(leaf, a >> 2, o + 32, d);
    }

    /// Checks that the layout ends exactly at the witness's end and that the opened state hashes to
    /// the pre root (the components are in the state block).
    function _checkPre(bytes32 preRoot) internal pure {
        assembly ("memory-safe") {
            function fail(s) {
                mstore(0, shl(224, s))
                revert(0, 4)
            }
            let o := mload(R_O)
            let e := mload(R_E)
            if gt(o, e) { fail(ERR_TRUNCATED) }
            if lt(o, e) { fail(ERR_BADLENGTH) }
            if iszero(eq(keccak256(add(ST_PRE, 31), 161), preRoot)) { fail(ERR_ROOTMISMATCH) }
        }
    }

    // ================================================================================================
    // Post state

    /// The step traps with `kind`: steps + 1, status trapped, nothing else changes. Returns.
    function _trapped(uint256 kind) internal pure {
        assembly ("memory-safe") {
            let regs := mload(REGS)
            let steps1 := and(add(shr(176, regs), 1), M48)
            mstore(REGS, or(and(regs, KEEP_TRAP), or(shl(176, steps1), or(shl(24, 2), shl(16, and(kind, 0xff))))))
            mstore(0, keccak256(add(ST_PRE, 31), 161))
            return(0, 32)
        }
    }

    /// The step completes: pc, steps + 1, the stack loses its k operands and gains the n values at
    /// R_OUT, depth and status as given; LOCALS and COLD hold the post components. Returns.
    function _finish(uint256 nextPc, uint256 n, uint256 depth1, uint256 status1) internal pure {
        assembly ("memory-safe") {
            let regs := mload(REGS)
            let steps1 := and(add(shr(176, regs), 1), M48)
            let sp1 := and(sub(add(and(shr(96, regs), M32), n), mload(R_K)), M32)
            mstore(
                REGS,
                or(
                    and(regs, KEEP_STEP),
                    or(
                        or(shl(224, and(nextPc, M32)), shl(176, steps1)),
                        or(or(shl(96, sp1), shl(64, and(depth1, M32))), shl(24, status1))
                    )
                )
            )
            let h := mload(R_BELOW)
            mstore8(SCR, 2)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                mstore(add(SCR, 1), h)
                mstore(add(SCR, 33), shl(192, mload(add(R_OUT, shl(5, i)))))
                h := keccak256(SCR, 41)
            }
            mstore(STACK, h)
            mstore(0, keccak256(add(ST_PRE, 31), 161))
            return(0, 32)
        }
    }

    // ================================================================================================
    // Small accessors

    function _op() internal pure returns (uint256 op) {
        assembly ("memory-safe") {
            op := mload(R_OP)
        }
    }

    /// v[j] (0 = deepest of the k values read), as u64.
    function _v(uint256 j) internal pure returns (uint256 x) {
        assembly ("memory-safe") {
            x := shr(192, calldataload(add(mload(R_VALS), shl(3, j))))
        }
    }

    /// Calldata offset of the witness (the `bytes` argument of step).
    function _witnessOffset(bytes calldata witness) internal pure returns (uint256 w) {
        assembly ("memory-safe") {
            w := witness.offset
        }
    }

    function _pc() internal pure returns (uint256 r) {
        assembly ("memory-safe") {
            r := shr(224, mload(REGS))
        }
    }
}
