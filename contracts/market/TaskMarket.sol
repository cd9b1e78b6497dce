// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Merkle} from "../state/Merkle.sol";
import {TaskState} from "../state/TaskState.sol";
import {IStepProver} from "../prover/IStepProver.sol";
import {ProgramRegistry} from "./ProgramRegistry.sol";
import {VerificationGame, IGameOwner} from "./VerificationGame.sol";
import {ITaskCallback} from "./ITaskCallback.sol";

/// The task market (docs/GAME.md): tasks, solutions, challenges and money. Verification games are
/// played in a VerificationGame contract that this market deploys and owns.
///
/// Money never leaves except through `withdraw` (pull payments). The contract's balance always equals
/// the sum of `balanceOf` over all accounts, plus `escrowOf` over all tasks, plus `burnt`.
contract TaskMarket is ProgramRegistry, IGameOwner {
    enum Stage {
        None,
        Open, // accepting a solution (if none is held) or challenges to the one held
        Finalized, // the solution held survived: reward paid, output delivered
        Expired // no valid solution by the deadline: reward refunded
    }

    /// Storage of a task. Slot 0 (`head`) and slot 4 (`claimHash`) hold the task's commitments, with
    /// claim = keccak256(initialRoot ‖ finalRoot ‖ keccak256(output)):
    ///   no solution held                 head = initialRoot, claimHash = 0
    ///   a solution never challenged      head = claim,       claimHash = 0
    ///   a solution challenged            head = initialRoot, claimHash = claim
    /// so an unchallenged solution costs one overwritten slot instead of a new one; the first
    /// challenge splits the two (the challenger re-supplies initialRoot, finalRoot, outputHash), and
    /// a defeat clears claimHash, which leaves head = initialRoot for the next solution.
    struct Task {
        // slot 0
        bytes32 head;
        // slot 1
        address poster;
        uint96 reward;
        // slot 2
        uint88 solverBond;
        uint88 challengerBond;
        uint40 deadline; // last second at which a solution may be committed
        uint24 window; // challenge window after a commitment, seconds
        Stage stage;
        bool callback; // the poster had code when it posted: call its onTaskResult
        // slot 3: the solution held (solver == 0: none)
        address solver;
        uint48 steps;
        uint32 commitTime;
        uint8 status; // of the claimed final state: 1 halted, 2 trapped
        uint8 trap;
        // slot 4
        bytes32 claimHash; // see above
        // slot 5: only touched by challenges
        uint32 openGames; // unresolved games against the solution held
        uint32 heldBonds; // unresolved challenges of any solution (their bonds are held)
        uint32 epoch; // incremented each time a solution is defeated
    }

    struct Challenge {
        uint64 taskId;
        uint32 epoch;
        bool live;
    }

    VerificationGame public immutable game;
    /// Share of a loser's bond that is burnt (kept in this contract forever), in basis points.
    uint256 public immutable burnBps;
    /// Gas given to ITaskCallback.onTaskResult.
    uint256 public immutable callbackGas;

    uint256 public taskCount;
    uint256 public burnt;
    mapping(uint256 => Task) internal tasks;
    mapping(uint256 => Challenge) public challenges; // by game id
    mapping(address => uint256) public balanceOf;

    /// transient reentrancy lock slot: keccak256("truewasm.TaskMarket.lock")
    uint256 private constant LOCK = 0x5a8c8c1e9b6f0c7c1f2d1c7b1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3921;
    uint256 private constant MAX_STEPS = (1 << 48) - 2; // steps and step numbers are u48 here

    /// `input` is empty when the poster is an account without code: the transaction that emitted the
    /// event is then a direct call to `post`, and the input is in its calldata (it is not logged
    /// twice). For a contract poster the input is logged here. `inputLength` is always set.
    event TaskPosted(
        uint256 indexed taskId,
        bytes32 indexed programRoot,
        address indexed poster,
        bytes32 initialRoot,
        TaskState.Limits limits,
        uint256 inputLength,
        bytes input
    );
    event Committed(uint256 indexed taskId, address indexed solver, bytes32 finalRoot, uint256 steps, uint8 status, uint8 trap, bytes output);
    event Challenged(uint256 indexed taskId, uint256 indexed gameId, address indexed challenger);
    event SolutionDefeated(uint256 indexed taskId, address indexed solver, uint256 gameId);
    event ChallengeReleased(uint256 indexed taskId, uint256 indexed gameId);
    event Finalized(uint256 indexed taskId, address indexed solver, uint8 status);
    event Expired(uint256 indexed taskId);
    event CallbackFailed(uint256 indexed taskId);
    event Withdrawal(address indexed account, uint256 amount);

    error Reentrancy();
    error BadParameters();
    error UnknownTask(uint256 taskId);
    error TaskClosed(uint256 taskId);
    error BadDeadline();
    error BadWindow();
    error StepLimitTooLarge();
    error InputTooLarge();
    error AmountTooLarge();
    error WrongBond(uint256 expected, uint256 sent);
    error DeadlinePassed();
    error DeadlineNotPassed();
    error AlreadyClaimed();
    error NoClaim();
    error RootMismatch();
    error StepsMismatch();
    error BadSteps();
    error NotTerminal(uint8 status);
    error OutputMismatch();
    error WindowClosed();
    error WindowOpen();
    error GamesPending(uint256 open);
    error ClaimMismatch();
    error SelfChallenge();
    error NotGame();
    error NotLive(uint256 gameId);
    error ClaimAlive();
    error ClaimPending();
    error InsufficientGas();
    error NothingToWithdraw();
    error TransferFailed();

    /// k: dissection degree; clock: each party's time budget per game (seconds); burnBps: burnt share
    /// of a lost bond; callbackGas: gas for the poster's callback.
    constructor(IStepProver prover, uint256 k, uint256 clock, uint256 burnBps_, uint256 callbackGas_) {
        if (burnBps_ > 10_000 || callbackGas_ > 10_000_000) revert BadParameters();
        game = new VerificationGame(prover, k, clock);
        burnBps = burnBps_;
        callbackGas = callbackGas_;
    }

    modifier nonReentrant() {
        bool locked;
        assembly ("memory-safe") {
            locked := tload(LOCK)
        }
        if (locked) revert Reentrancy();
        assembly ("memory-safe") {
            tstore(LOCK, 1)
        }
        _;
        assembly ("memory-safe") {
            tstore(LOCK, 0)
        }
    }

    // --------------------------------------------------------------------------------------------
    // Tasks

    /// Posts a task; msg.value is the reward. The input root and the initial state root are computed
    /// here from the input bytes, which are also emitted (so a challenger can get them from the log
    /// whatever contract posted the task). `deadline`: last second at which a solution may be
    /// committed; `window`: seconds for challenges after each commitment.
    function post(
        bytes32 programRoot,
        bytes calldata input,
        TaskState.Limits calldata limits,
        uint24 window,
        uint88 solverBond,
        uint88 challengerBond,
        uint40 deadline
    ) external payable nonReentrant returns (uint256 taskId) {
        if (deadline <= block.timestamp) revert BadDeadline();
        if (window == 0) revert BadWindow();
        if (limits.steps > MAX_STEPS) revert StepLimitTooLarge();
        if (input.length > type(uint32).max) revert InputTooLarge();
        if (msg.value > type(uint96).max) revert AmountTooLarge();
        taskId = ++taskCount;
        bool hasCode = _storeTerms(tasks[taskId], window, solverBond, challengerBond, deadline);
        _storeInitialRoot(taskId, programRoot, input, limits, hasCode);
    }

    function _storeInitialRoot(uint256 taskId, bytes32 programRoot, bytes calldata input, TaskState.Limits calldata limits, bool logInput) private {
        TaskState.Limits memory l = limits;
        bytes32 initialRoot = TaskState.initialStateRoot(descriptorOf(programRoot), TaskState.inputRoot(input), input.length, l);
        tasks[taskId].head = initialRoot;
        emit TaskPosted(taskId, programRoot, msg.sender, initialRoot, l, input.length, logInput ? input : input[0:0]);
    }

    /// Writes slots 1 and 2 of a new task, one SSTORE each. An account with code (a contract, or an
    /// EIP-7702 delegated account, whose call to post may be nested in its transaction) gets the
    /// callback and has its input logged.
    function _storeTerms(Task storage t, uint24 window, uint88 solverBond, uint88 challengerBond, uint40 deadline) private returns (bool hasCode) {
        hasCode = msg.sender.code.length != 0;
        uint256 slot1 = uint256(uint160(msg.sender)) | (msg.value << 160);
        uint256 slot2 = uint256(solverBond) |
            (uint256(challengerBond) << 88) |
            (uint256(deadline) << 176) |
            (uint256(window) << 216) |
            (uint256(uint8(Stage.Open)) << 240) |
            ((hasCode ? uint256(1) : 0) << 248);
        assembly ("memory-safe") {
            sstore(add(t.slot, 1), slot1)
            sstore(add(t.slot, 2), slot2)
        }
    }

    /// Commits a solution: the final state root after `steps` steps, its opening (TaskState.open) and
    /// the output bytes; msg.value is the solver bond. The final state must be halted (the output's
    /// tree must be the state's output root) or trapped (the output must be empty).
    function commit(uint256 taskId, bytes32 finalRoot, uint256 steps, bytes calldata output, bytes calldata opening)
        external
        payable
        nonReentrant
    {
        Task storage t = tasks[taskId];
        Stage stage = t.stage;
        if (stage != Stage.Open) _notOpen(taskId, stage);
        if (t.solver != address(0)) revert AlreadyClaimed();
        if (block.timestamp > t.deadline) revert DeadlinePassed();
        if (msg.value != t.solverBond) revert WrongBond(t.solverBond, msg.value);
        TaskState.Final memory f = TaskState.open(opening);
        if (f.root != finalRoot) revert RootMismatch();
        if (f.steps != steps) revert StepsMismatch();
        if (steps == 0 || steps > MAX_STEPS + 1) revert BadSteps();
        if (f.status == 1) {
            if (output.length != f.outLen || output.length > f.outputLimit) revert OutputMismatch();
            if (Merkle.bytesRoot(output, TaskState.outputDepth(f.outputLimit)) != f.outputRoot) revert OutputMismatch();
        } else if (f.status == 2) {
            if (output.length != 0) revert OutputMismatch();
        } else revert NotTerminal(f.status);
        // slot 3 in one write: solver ‖ steps ‖ commitTime ‖ status ‖ trap
        uint256 slot3 = uint256(uint160(msg.sender)) | (steps << 160) | (uint256(uint32(block.timestamp)) << 208) | (uint256(f.status) << 240) | (uint256(f.trap) << 248);
        assembly ("memory-safe") {
            sstore(add(t.slot, 3), slot3)
        }
        t.head = keccak256(abi.encodePacked(t.head, finalRoot, keccak256(output)));
        emit Committed(taskId, msg.sender, finalRoot, steps, f.status, f.trap, output);
    }

    /// Challenges the solution held, within its window; msg.value is the challenger bond. Opens a
    /// game between the solver and the caller. `initialRoot` (from TaskPosted), `finalRoot` and
    /// `outputHash` (keccak256 of the output, from Committed) identify the solution.
    function challenge(uint256 taskId, bytes32 initialRoot, bytes32 finalRoot, bytes32 outputHash) external payable nonReentrant returns (uint256 gameId) {
        Task storage t = tasks[taskId];
        Stage stage = t.stage;
        if (stage != Stage.Open) _notOpen(taskId, stage);
        address solver = t.solver;
        if (solver == address(0)) revert NoClaim();
        if (block.timestamp > uint256(t.commitTime) + t.window) revert WindowClosed();
        if (msg.value != t.challengerBond) revert WrongBond(t.challengerBond, msg.value);
        bytes32 claim = keccak256(abi.encodePacked(initialRoot, finalRoot, outputHash));
        if (t.claimHash == 0) {
            // first challenge of this solution: split head into initialRoot and claimHash
            if (t.head != claim) revert ClaimMismatch();
            t.head = initialRoot;
            t.claimHash = claim;
        } else if (t.claimHash != claim || t.head != initialRoot) revert ClaimMismatch();
        if (msg.sender == solver) revert SelfChallenge();
        t.openGames += 1;
        t.heldBonds += 1;
        gameId = game.open(solver, msg.sender, initialRoot, finalRoot, t.steps);
        challenges[gameId] = Challenge(uint64(taskId), t.epoch, true);
        emit Challenged(taskId, gameId, msg.sender);
    }

    /// Called by the game when a game ends. A game against the solution held settles the bonds: the
    /// loser's bond goes to the winner, less the burnt share; a defeated solution is dropped and the
    /// task reopens. A game against a solution already defeated (or finalized) refunds the
    /// challenger's bond.
    function onGameResolved(uint256 gameId, address challenger, bool solverWon) external nonReentrant {
        if (msg.sender != address(game)) revert NotGame();
        Challenge storage c = challenges[gameId];
        if (!c.live) revert NotLive(gameId);
        c.live = false;
        Task storage t = tasks[c.taskId];
        t.heldBonds -= 1;
        if (!_claimAlive(t, c.epoch)) {
            balanceOf[challenger] += t.challengerBond;
            return;
        }
        t.openGames -= 1;
        if (solverWon) {
            uint256 bond = t.challengerBond;
            uint256 burn = (bond * burnBps) / 10_000;
            burnt += burn;
            balanceOf[t.solver] += bond - burn;
        } else {
            uint256 bond = t.solverBond;
            uint256 burn = (bond * burnBps) / 10_000;
            burnt += burn;
            balanceOf[challenger] += t.challengerBond + bond - burn;
            emit SolutionDefeated(c.taskId, t.solver, gameId);
            t.solver = address(0);
            t.claimHash = 0; // head is initialRoot again
            t.openGames = 0;
            t.epoch += 1;
        }
    }

    /// Anyone: ends a game whose solution was already defeated in another game (or finalized
    /// meanwhile, which needs all its games resolved, so only older solutions' games): the game is
    /// aborted and the challenger's bond refunded.
    function release(uint256 gameId) external nonReentrant {
        Challenge storage c = challenges[gameId];
        if (!c.live) revert NotLive(gameId);
        Task storage t = tasks[c.taskId];
        if (_claimAlive(t, c.epoch)) revert ClaimAlive();
        c.live = false;
        t.heldBonds -= 1;
        balanceOf[game.challengerOf(gameId)] += t.challengerBond;
        game.abort(gameId);
        emit ChallengeReleased(c.taskId, gameId);
    }

    /// Anyone, after the challenge window with every game resolved in the solver's favour: pays the
    /// solver (reward + bond) and delivers the output to the poster. `initialRoot`, `finalRoot` and
    /// `output` as posted and committed.
    function finalize(uint256 taskId, bytes32 initialRoot, bytes32 finalRoot, bytes calldata output) external nonReentrant {
        Task storage t = tasks[taskId];
        Stage stage = t.stage;
        if (stage != Stage.Open) _notOpen(taskId, stage);
        address solver = t.solver;
        if (solver == address(0)) revert NoClaim();
        if (block.timestamp <= uint256(t.commitTime) + t.window) revert WindowOpen();
        bytes32 claim = keccak256(abi.encodePacked(initialRoot, finalRoot, keccak256(output)));
        if (t.head != claim) {
            // challenged (else head would be the claim): every game must be over
            if (t.claimHash != claim) revert ClaimMismatch();
            if (t.openGames != 0) revert GamesPending(t.openGames);
        }
        t.stage = Stage.Finalized;
        balanceOf[solver] += uint256(t.reward) + t.solverBond;
        uint8 status = t.status;
        emit Finalized(taskId, solver, status);
        if (t.callback) _callback(t.poster, taskId, output, status);
    }

    /// Anyone, after the deadline when no solution is held: refunds the reward to the poster.
    function expire(uint256 taskId) external nonReentrant {
        Task storage t = tasks[taskId];
        Stage stage = t.stage;
        if (stage != Stage.Open) _notOpen(taskId, stage);
        if (t.solver != address(0)) revert ClaimPending();
        if (block.timestamp <= t.deadline) revert DeadlineNotPassed();
        t.stage = Stage.Expired;
        balanceOf[t.poster] += t.reward;
        emit Expired(taskId);
        if (t.callback) _callback(t.poster, taskId, "", 0);
    }

    /// Sends the caller everything it is owed.
    function withdraw() external nonReentrant {
        uint256 amount = balanceOf[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        balanceOf[msg.sender] = 0;
        (bool ok, ) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
        emit Withdrawal(msg.sender, amount);
    }

    // --------------------------------------------------------------------------------------------
    // Views

    struct TaskView {
        bytes32 head;
        address poster;
        uint256 reward;
        uint256 solverBond;
        uint256 challengerBond;
        uint256 deadline;
        uint256 window;
        Stage stage;
        bool callback;
        address solver;
        uint256 steps;
        uint256 commitTime;
        uint8 status;
        uint8 trap;
        bytes32 claimHash;
        uint256 openGames;
        uint256 heldBonds;
        uint256 epoch;
    }

    function taskOf(uint256 taskId) external view returns (TaskView memory v) {
        Task storage t = tasks[taskId];
        v.head = t.head;
        v.poster = t.poster;
        v.reward = t.reward;
        v.solverBond = t.solverBond;
        v.challengerBond = t.challengerBond;
        v.deadline = t.deadline;
        v.window = t.window;
        v.stage = t.stage;
        v.callback = t.callback;
        v.solver = t.solver;
        v.steps = t.steps;
        v.commitTime = t.commitTime;
        v.status = t.status;
        v.trap = t.trap;
        v.claimHash = t.claimHash;
        v.openGames = t.openGames;
        v.heldBonds = t.heldBonds;
        v.epoch = t.epoch;
    }

    /// ETH held for a task: the reward until it is paid or refunded, the bond of the solution held,
    /// and the bonds of its unresolved challenges.
    function escrowOf(uint256 taskId) public view returns (uint256 amount) {
        Task storage t = tasks[taskId];
        if (t.stage == Stage.Open) {
            amount = t.reward;
            if (t.solver != address(0)) amount += t.solverBond;
        }
        amount += uint256(t.heldBonds) * t.challengerBond;
    }

    /// Everything the contract owes except withdrawable balances: escrow of all tasks, plus `burnt`
    /// (never paid out). Loops over all tasks: for tests and monitoring, not for transactions.
    function heldTotal() external view returns (uint256 total) {
        total = burnt;
        for (uint256 i = 1; i <= taskCount; i++) total += escrowOf(i);
    }

    // --------------------------------------------------------------------------------------------
    // Internals

    function _claimAlive(Task storage t, uint32 epoch) private view returns (bool) {
        return t.stage == Stage.Open && t.solver != address(0) && t.epoch == epoch;
    }

    function _notOpen(uint256 taskId, Stage stage) private pure {
        if (stage == Stage.None) revert UnknownTask(taskId);
        revert TaskClosed(taskId);
    }

    /// Calls the poster's onTaskResult with exactly callbackGas gas (the caller must supply enough,
    /// so that nobody can make the callback fail by starving it); its failure is ignored, and its
    /// return data never copied.
    function _callback(address poster, uint256 taskId, bytes memory output, uint8 status) private {
        uint256 g = callbackGas;
        if (gasleft() < g + g / 63 + 10_000) revert InsufficientGas();
        bytes memory data = abi.encodeCall(ITaskCallback.onTaskResult, (taskId, output, status));
        bool ok;
        assembly ("memory-safe") {
            ok := call(g, poster, 0, add(data, 32), mload(data), 0, 0)
        }
        if (!ok) emit CallbackFailed(taskId);
    }
}
