// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {TaskMarket} from "../market/TaskMarket.sol";
import {ITaskMarket} from "../market/ITaskMarket.sol";
import {VerificationGame} from "../market/VerificationGame.sol";
import {ITaskCallback} from "../market/ITaskCallback.sol";
import {TaskState} from "../state/TaskState.sol";

/// TEST ONLY: the self-challenging liar of docs/GAME.md ("Attacks"), a contract that holds a false
/// solution and, in one transaction, challenges it from its second contract, loses that game on
/// purpose and commits to the task again.
contract LiarSolver {
    TaskMarket public immutable market;
    VerificationGame public immutable game;

    constructor(TaskMarket market_) {
        market = market_;
        game = market_.game();
    }

    function commit(uint256 taskId, bytes32 commitment) external payable {
        market.commit{value: msg.value}(taskId, commitment);
    }

    function reveal(uint256 taskId, bytes32 finalRoot, uint256 steps, bytes calldata output, bytes calldata opening, bytes32 salt) external {
        market.reveal(taskId, finalRoot, steps, output, opening, salt);
    }

    /// msg.value: the challenger bond (for the sybil) and the solver bond (for the new commitment).
    /// `witness`: the true state at step 0 (the sybil proves the liar's root at step 1 wrong).
    function neutralise(
        LiarSybil sybil,
        uint256 taskId,
        bytes32 initialRoot,
        bytes32 finalRoot,
        bytes32 outputHash,
        uint256 challengerBond,
        bytes calldata witness,
        bytes32 nextCommitment
    ) external payable returns (uint256 gameId) {
        gameId = sybil.challenge{value: challengerBond}(taskId, initialRoot, finalRoot, outputHash);
        bytes32 rootHi = finalRoot;
        for (uint256 round = 0; ; round++) {
            VerificationGame.GameView memory v = game.gameOf(gameId);
            if (v.phase == VerificationGame.Phase.Bisect) {
                uint256[] memory pts = game.points(v.lo, v.hi);
                bytes32[] memory roots = new bytes32[](pts.length);
                for (uint256 j = 0; j < pts.length; j++) roots[j] = keccak256(abi.encode("made up", gameId, round, j));
                game.bisect(gameId, roots);
                // the sybil names the first part: [lo, p1], from the agreed initial root to a made-up one
                sybil.select(gameId, initialRoot, rootHi, roots, 0);
                rootHi = roots[0];
            } else {
                sybil.proveStep(gameId, initialRoot, rootHi, witness);
                break;
            }
        }
        market.commit{value: msg.value - challengerBond}(taskId, nextCommitment);
    }

    function withdraw() external {
        market.withdraw();
    }

    receive() external payable {}
}

/// TEST ONLY: the liar's second account.
contract LiarSybil {
    TaskMarket public immutable market;
    VerificationGame public immutable game;

    constructor(TaskMarket market_) {
        market = market_;
        game = market_.game();
    }

    function challenge(uint256 taskId, bytes32 initialRoot, bytes32 finalRoot, bytes32 outputHash) external payable returns (uint256) {
        return market.challenge{value: msg.value}(taskId, initialRoot, finalRoot, outputHash);
    }

    function select(uint256 id, bytes32 rootLo, bytes32 rootHi, bytes32[] calldata roots, uint256 index) external {
        game.select(id, rootLo, rootHi, roots, index);
    }

    function proveStep(uint256 id, bytes32 rootLo, bytes32 rootHi, bytes calldata witness) external {
        game.proveStep(id, rootLo, rootHi, witness);
    }

    function withdraw() external {
        market.withdraw();
    }

    receive() external payable {}
}

/// TEST ONLY: a dapp that posts its task from its constructor (its code is empty until then) and
/// records the result.
contract ConstructorPoster is ITaskCallback {
    ITaskMarket public immutable market;
    uint256 public immutable taskId;
    uint256 public results;
    bytes public lastOutput;
    uint8 public lastStatus;
    uint32 public lastCode;

    constructor(
        ITaskMarket market_,
        bytes32 programRoot,
        bytes memory input,
        TaskState.Limits memory limits,
        uint24 window,
        uint88 solverBond,
        uint88 challengerBond,
        uint40 deadline
    ) payable {
        market = market_;
        taskId = market_.post{value: msg.value}(programRoot, input, limits, window, solverBond, challengerBond, deadline);
    }

    function onTaskResult(uint256, bytes calldata output, uint8 status, uint32 code) external {
        require(msg.sender == address(market), "not the market");
        results++;
        lastOutput = output;
        lastStatus = status;
        lastCode = code;
    }
}

/// TEST ONLY: calls another contract with the value and data it is given.
contract Forwarder {
    function forward(address target, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }
}

/// TEST ONLY: code for an EIP-7702 account (an account that delegates to it runs it as itself):
/// posts a task from the account and records the result in the account's storage.
contract Delegate7702 is ITaskCallback {
    uint256 public results;
    bytes public lastOutput;
    uint8 public lastStatus;

    function post(
        ITaskMarket market,
        bytes32 programRoot,
        bytes calldata input,
        TaskState.Limits calldata limits,
        uint24 window,
        uint88 solverBond,
        uint88 challengerBond,
        uint40 deadline
    ) external payable returns (uint256) {
        require(msg.sender == address(this), "only the account itself");
        return market.post{value: msg.value}(programRoot, input, limits, window, solverBond, challengerBond, deadline);
    }

    function onTaskResult(uint256, bytes calldata output, uint8 status, uint32) external {
        results++;
        lastOutput = output;
        lastStatus = status;
    }
}
