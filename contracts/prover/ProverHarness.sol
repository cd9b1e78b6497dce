// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IStepProver} from "./IStepProver.sol";

/// @title Test and benchmark wrapper of the one-step prover (not part of the protocol).
/// @notice `prove` is a state-changing call, so a transaction to it measures what proving one step
/// costs a caller (base + calldata + the prover's execution + an event). `stepMany` runs many steps
/// in one eth_call for the differential tests.
contract ProverHarness {
    IStepProver public immutable prover;

    event Proved(bytes32 postRoot);

    constructor(IStepProver prover_) {
        prover = prover_;
    }

    function prove(bytes32 preRoot, bytes calldata witness) external returns (bytes32 postRoot) {
        postRoot = prover.step(preRoot, witness);
        emit Proved(postRoot);
    }

    /// For each i: the post root, or zero and the revert data's first 4 bytes (the error selector).
    function stepMany(bytes32[] calldata preRoots, bytes[] calldata witnesses)
        external
        view
        returns (bytes32[] memory postRoots, bytes4[] memory errors, uint256[] memory gasUsed)
    {
        uint256 n = preRoots.length;
        postRoots = new bytes32[](n);
        errors = new bytes4[](n);
        gasUsed = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            uint256 g = gasleft();
            try prover.step(preRoots[i], witnesses[i]) returns (bytes32 r) {
                postRoots[i] = r;
            } catch (bytes memory e) {
                errors[i] = e.length >= 4 ? bytes4(e) : bytes4(0xffffffff);
            }
            gasUsed[i] = g - gasleft();
        }
    }
}
