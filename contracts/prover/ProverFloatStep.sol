// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ProverBase} from "./ProverBase.sol";
import {ProverFloat} from "./ProverFloat.sol";

/// @title Routing of the float instructions to the float unit (ProverFloat).
/// @notice A float step is a numeric step (it reads one or two values from the stack and pushes one,
/// or traps): OneStepProver parses and checks its witness as for the integer instructions and asks
/// the float unit, a separate contract created with the prover (so deployment stays
/// `new OneStepProver()`), for the value, with a static call of the operands.
abstract contract ProverFloatStep is ProverBase {
    /// The float unit, deployed by the prover's constructor.
    address private immutable FLOAT_UNIT = address(new ProverFloat());

    /// Bit `op` set for the float numeric opcodes (0x5b..0x66, 0x8b..0xa6, 0xa8..0xab, 0xae..0xbb,
    /// 0xc5..0xcc; generated from interpreter/float.ts, checked by test/float/prover-float.test.ts).
    uint256 internal constant FLOAT_OPS = 0x1fe00fffcf7ffffff8000000007ff80000000000000000000000;

    function _isFloat(uint256 op) internal pure returns (bool) {
        return (FLOAT_OPS >> op) & 1 != 0;
    }

    /// The float instruction `op` on the stack values read (R_VALS, R_K): the value or a trap kind.
    function _float(uint256 op) internal view returns (uint256 r, uint256 trap) {
        address unit = FLOAT_UNIT;
        assembly ("memory-safe") {
            let vals := mload(R_VALS)
            let k := mload(R_K)
            let b := shr(192, calldataload(add(vals, shl(3, sub(k, 1)))))
            let a := 0
            if eq(k, 2) { a := shr(192, calldataload(vals)) }
            // exec(op, a, b) in the scratch area SCR (free until the post root is hashed)
            mstore(SCR, 0x9273ad4e00000000000000000000000000000000000000000000000000000000) // exec(uint256,uint256,uint256)
            mstore(add(SCR, 4), op)
            mstore(add(SCR, 36), a)
            mstore(add(SCR, 68), b)
            if iszero(staticcall(gas(), unit, SCR, 100, SCR, 64)) { revert(0, 0) }
            r := mload(SCR)
            trap := mload(add(SCR, 32))
        }
    }
}
