// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {TaskState} from "../state/TaskState.sol";

/// What a dapp needs of the task market (docs/DAPPS.md): post a task (with its input in the call, or
/// uploaded before in chunks), read its stage and result, get refunds. Import this and
/// ITaskCallback, not the market.
///
/// (Not `TaskMarket is ITaskMarket`: the market's code is near EIP-170's size limit, and inheriting
/// would need overrides across its bases. The market uses the types declared here, and
/// test/dapp/example.test.ts checks that every function here is in the market's ABI with the same
/// types.)
///
/// A task = a registered program (its program root), an input, limits, a reward (msg.value) and
/// terms (bonds, window, deadline). Solvers run it off-chain and commit to the result with a bond;
/// anyone may challenge within the window and the dispute is settled on-chain one step at a time.
/// When the task ends, a poster that is a contract gets ITaskCallback.onTaskResult.
interface ITaskMarket {
    enum Stage {
        None, // no such task
        Open, // waiting for a solution, or for the window of the one held (and its disputes)
        Finalized, // a solution survived: the solver is paid, the poster got the result
        Expired // no solution by the deadline: the reward went back to the poster's balance
    }

    /// The terms of a task besides its reward and limits (a convenience for posters; `post` takes
    /// them as separate arguments). `window`: seconds to reveal a committed solution and to challenge
    /// it; `deadline`: the last second a solution may be committed (a timestamp); bonds in wei.
    struct Terms {
        uint24 window;
        uint88 solverBond;
        uint88 challengerBond;
        uint40 deadline;
    }

    /// Posts a task; msg.value is the reward. `programRoot`: a registered program
    /// (`isRegistered`); `input`: the task's input bytes (at most what fits in one transaction:
    /// ~400 KB of random bytes under the 2^24 gas cap; larger inputs go through inputs() and
    /// postInput); `limits`: steps, memory pages, call depth, stack height, output bytes
    /// (TaskState.Limits, the same as `truewasm run` suggests). Reverts BadDeadline, BadWindow,
    /// StepLimitTooLarge, UnknownProgram, InitialMemoryTooLarge, ...
    function post(
        bytes32 programRoot,
        bytes calldata input,
        TaskState.Limits calldata limits,
        uint24 window,
        uint88 solverBond,
        uint88 challengerBond,
        uint40 deadline
    ) external payable returns (uint256 taskId);

    /// Where inputs larger than one transaction are uploaded before `postInput` (docs/DAPPS.md § Large
    /// inputs): a contract the market deployed.
    function inputs() external view returns (IInputUploads);

    /// Posts a task whose input is upload `inputId` of `inputs()`, like `post`. The uploader's first
    /// post seals the input (no more chunks); a sealed input may be used by any number of tasks, by
    /// anyone.
    function postInput(
        uint256 inputId,
        bytes32 programRoot,
        TaskState.Limits calldata limits,
        uint24 window,
        uint88 solverBond,
        uint88 challengerBond,
        uint40 deadline
    ) external payable returns (uint256 taskId);

    /// A task's stage and, once finalized, its result: status 1 halted (code: exit code) or 2
    /// trapped (code: trap code, docs/TASKS.md); the output itself is delivered by the callback and
    /// logged in the market's Revealed event. While open: the solution held, if any (status 0 until
    /// it is revealed).
    function resultOf(uint256 taskId) external view returns (Stage stage, uint8 status, uint32 code, address solver);

    /// Anyone, after the deadline with no solution held: ends the task, credits the reward back to
    /// the poster and calls its onTaskResult with status 0.
    function expire(uint256 taskId) external;

    /// What `account` may withdraw (refunded rewards, payouts).
    function balanceOf(address account) external view returns (uint256);

    /// Sends the caller its whole balance.
    function withdraw() external;

    /// Whether a program root is registered (register it with `truewasm register`).
    function isRegistered(bytes32 programRoot) external view returns (bool);

    /// Gas the market gives ITaskCallback.onTaskResult.
    function callbackGas() external view returns (uint256);
}

/// Uploads of task inputs too large for one transaction (ITaskMarket.inputs()).
interface IInputUploads {
    /// Appends `chunk` to the caller's upload `inputId`, or starts a new one when `inputId` is 0;
    /// returns the upload's id. Every chunk but the last must be a multiple of 32 bytes; each is
    /// folded into the input's Merkle root as it arrives. Keep each call's transaction under the
    /// 2^24 gas cap: ~400 KB of random bytes (EIP-7623's calldata floor).
    function appendInput(uint256 inputId, bytes calldata chunk) external returns (uint256 id);

    /// An upload: its owner, bytes so far, whether sealed, and its root once sealed.
    function inputOf(uint256 inputId) external view returns (address owner, uint256 length, bool isSealed, bytes32 root);
}
