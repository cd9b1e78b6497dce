// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Merkle} from "../state/Merkle.sol";
import {TaskState} from "../state/TaskState.sol";
import {IStepProver} from "../prover/IStepProver.sol";
import {ProgramRegistry} from "./ProgramRegistry.sol";
import {InputUploads} from "./InputUploads.sol";
import {VerificationGame, IGameOwner} from "./VerificationGame.sol";
import {ITaskCallback} from "./ITaskCallback.sol";
import {ITaskMarket} from "./ITaskMarket.sol";
import {Refund} from "./Refund.sol";

/// The task market (docs/GAME.md): tasks, solutions, challenges and money. Verification games are
/// played in a VerificationGame contract that this market deploys and owns.
///
/// A solution is committed as a hash bound to its solver (`commit`) and revealed once that is mined
/// (`reveal`), so that a copy of either transaction is worth nothing to whoever copies it. Every
/// challenger of a solution that is defeated gets its bond back and its measured gas from the
/// solver's bond, whichever game ends first; the rest of that bond is burnt, and the final state is
/// never accepted again for the task.
///
/// Money never leaves except through `withdraw` (pull payments). The contract's balance always equals
/// the sum of `balanceOf` over all accounts, plus `escrowOf` over all tasks, plus `burnt`.
///
/// The dapp-facing functions are those of ITaskMarket, whose types (Stage) the market uses.
contract TaskMarket is ProgramRegistry, IGameOwner {
    /// Storage of a task. Slot 0 (`head`) and slot 4 (`claimHash`) hold the task's claims, with
    /// claim = keccak256(initialRoot ‖ finalRoot ‖ keccak256(output)):
    ///   no solution revealed             head = initialRoot, claimHash ≤ 1
    ///   a solution revealed              head = claim,       claimHash ≤ 1
    ///   a solution challenged            head = initialRoot, claimHash = claim
    /// so an unchallenged solution costs one overwritten slot instead of a new one; the first
    /// challenge splits head and claimHash (the challenger re-supplies initialRoot, finalRoot,
    /// outputHash), and a defeat sets claimHash to 1, which leaves head = initialRoot.
    ///
    /// Slot 3 holds the solution (bits 248..255 are flags in every state):
    ///   none                 0
    ///   committed            revealBy u32 ‖ the top 216 bits of commitment << 32, where
    ///                        commitment = keccak256(solver ‖ finalRoot ‖ salt)
    ///   revealed (REVEALED)  solver ‖ revealTime u32 ‖ steps u48 ‖ status u8
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
        uint24 window; // seconds to reveal after a commitment, and to challenge after a reveal
        ITaskMarket.Stage stage;
        bool callback; // the poster gets onTaskResult (see post)
        // slot 3: the solution (see above; these fields are only meaningful once revealed)
        address solver;
        uint32 commitTime; // of the reveal
        uint48 steps;
        uint8 status; // of the claimed final state: 1 halted, 2 trapped
        uint8 flags; // DEFEATED: some final state of this task lost a game; REVEALED
        // slot 4
        bytes32 claimHash; // see above
        // slot 5: written by challenges, defeats and non-zero codes
        uint32 openGames; // unresolved games against the solution held
        uint32 heldBonds; // unresolved challenges of any solution (their bonds are held)
        uint32 epoch; // incremented each time a solution is defeated
        uint32 code; // of the solution held: exit code when halted, trap code when trapped
        uint128 winnings; // bonds won by the solution held (less the burn), paid when it is finalized
    }

    struct Challenge {
        uint64 taskId;
        uint32 epoch;
        bool live;
    }

    /// What is left of a defeated solution's bond for the challenges still live when it was defeated
    /// (each paid by `release`): `reserve` wei for `units` wei of refunds claimed (what those
    /// challengers had spent, plus `allowance` each for their release transaction).
    struct Pot {
        uint96 reserve;
        uint96 units;
        uint32 pending; // challenges still to release
        bool done; // keeps the slot non-zero once all are released
        uint128 allowance; // slot 2
    }

    VerificationGame public immutable game;
    /// Uploads of inputs too large for one transaction (postInput).
    InputUploads public immutable inputs;
    /// Share of a losing challenger's bond that is burnt (kept in this contract forever), in basis
    /// points; the rest goes to the solver with its reward. A losing solver's bond is burnt whole,
    /// less the refunds of its challengers.
    uint256 public immutable burnBps;
    /// Gas given to ITaskCallback.onTaskResult.
    uint256 public immutable callbackGas;
    /// Highest tip per gas refunded above the base fee (Refund.price).
    uint256 public immutable tipCap;

    uint256 public taskCount;
    uint256 public burnt;
    mapping(uint256 => Task) internal tasks;
    mapping(uint256 => Challenge) public challenges; // by game id
    mapping(address => uint256) public balanceOf;
    /// keccak256(taskId ‖ claim) of every solution that lost a game
    mapping(bytes32 => bool) public defeated;
    mapping(uint256 => mapping(uint256 => Pot)) internal pots; // by task id and epoch

    /// transient reentrancy lock slot: keccak256("truewasm.TaskMarket.lock")
    uint256 private constant LOCK = 0x5a8c8c1e9b6f0c7c1f2d1c7b1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3921;
    uint256 private constant MAX_STEPS = (1 << 48) - 2; // steps and step numbers are u48 here
    uint256 private constant DEFEATED = 1 << 248; // slot 3 flags
    uint256 private constant REVEALED = 1 << 249;
    uint256 private constant FLAGS = 0xff << 248;
    uint256 private constant MASK32 = 0xffffffff;
    uint256 private constant MASK48 = 0xffffffffffff;
    uint256 private constant MASK64 = 0xffffffffffffffff;
    uint256 private constant MASK216 = (1 << 216) - 1;
    /// Gas refunded at most for a release transaction (its measured gas is refunded up to this).
    uint256 public constant RELEASE_GAS = 100_000;
    // Gas used outside the measured part of a refunded transaction (see Refund; calibrated by
    // test/contracts/incentives.test.ts, which checks refunds against receipts).
    uint256 private constant CHALLENGE_HEAD = 400;
    uint256 private constant CHALLENGE_TAIL = 2_723;
    uint256 private constant DEFEAT_TAIL = 5_645;
    uint256 private constant DEFEAT_MOOT_TAIL = 681; // more with other live games (the pot's writes)
    uint256 private constant RELEASE_HEAD = 300;
    uint256 private constant RELEASE_TAIL = 8_677;
    uint256 private constant RELEASE_LAST_TAIL = 403; // more for the last release (burns the rest)
    /// Gas between the check in _callback and the callee's first instruction, besides callbackGas and
    /// the 1/64 the call keeps: the CALL's cold account access (2,600) and the few opcodes before it.
    uint256 private constant CALL_OVERHEAD = 2_700;

    /// `input` is empty when the poster is the transaction's sender and an account without code: the
    /// transaction that emitted the event is then a direct call to `post`, and the input is in its
    /// calldata (it is not logged twice). Otherwise (a contract, a constructor, an EIP-7702 account)
    /// the input is logged here. `inputLength` is always set.
    event TaskPosted(
        uint256 indexed taskId,
        bytes32 indexed programRoot,
        address indexed poster,
        bytes32 initialRoot,
        TaskState.Limits limits,
        uint256 inputLength,
        bytes input
    );
    event Committed(uint256 indexed taskId, address indexed solver, bytes32 commitment);
    /// The solution's result: `exitCode` when halted (status 1, with its output), `trap` when trapped (2).
    event Revealed(uint256 indexed taskId, address indexed solver, bytes32 finalRoot, uint256 steps, uint8 status, uint32 exitCode, uint8 trap, bytes output);
    event Forfeited(uint256 indexed taskId);
    event Challenged(uint256 indexed taskId, uint256 indexed gameId, address indexed challenger);
    event SolutionDefeated(uint256 indexed taskId, address indexed solver, uint256 gameId);
    /// A challenger of a defeated solution is paid: its bond back and `refund` (wei, its gas).
    event ChallengerPaid(uint256 indexed taskId, uint256 indexed gameId, address indexed challenger, uint256 refund);
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
    error AlreadyRevealed();
    error NotRevealed();
    error RevealClosed();
    error RevealOpen();
    error CommitmentMismatch();
    error ClaimDefeated();
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
    /// of a losing challenger's bond; callbackGas: gas for the poster's callback; tipCap: highest tip
    /// per gas refunded above the base fee.
    constructor(IStepProver prover, uint256 k, uint256 clock, uint256 burnBps_, uint256 callbackGas_, uint256 tipCap_) {
        if (burnBps_ > 10_000 || callbackGas_ > 10_000_000 || tipCap_ > 1e15) revert BadParameters();
        game = new VerificationGame(prover, k, clock, tipCap_);
        inputs = new InputUploads();
        burnBps = burnBps_;
        callbackGas = callbackGas_;
        tipCap = tipCap_;
    }

    modifier nonReentrant() {
        _lock();
        _;
        assembly ("memory-safe") {
            tstore(LOCK, 0)
        }
    }

    function _lock() private {
        bool locked;
        assembly ("memory-safe") {
            locked := tload(LOCK)
        }
        if (locked) revert Reentrancy();
        assembly ("memory-safe") {
            tstore(LOCK, 1)
        }
    }

    // --------------------------------------------------------------------------------------------
    // Tasks

    /// Posts a task; msg.value is the reward. The input root and the initial state root are computed
    /// here from the input bytes. `deadline`: last second at which a solution may be committed;
    /// `window`: seconds to reveal a commitment, and for challenges after each reveal.
    function post(
        bytes32 programRoot,
        bytes calldata input,
        TaskState.Limits calldata limits,
        uint24 window,
        uint88 solverBond,
        uint88 challengerBond,
        uint40 deadline
    ) external payable nonReentrant returns (uint256 taskId) {
        if (input.length > type(uint32).max) revert InputTooLarge();
        bool served;
        (taskId, served) = _newTask(limits, window, solverBond, challengerBond, deadline);
        _storeInitialRoot(taskId, programRoot, input, limits, served);
    }

    /// Checks the terms shared by post and postInput, stores them for a new task.
    function _newTask(TaskState.Limits calldata limits, uint24 window, uint88 solverBond, uint88 challengerBond, uint40 deadline) private returns (uint256 taskId, bool served) {
        if (deadline <= block.timestamp) revert BadDeadline();
        if (window == 0) revert BadWindow();
        if (limits.steps > MAX_STEPS) revert StepLimitTooLarge();
        if (msg.value > type(uint96).max) revert AmountTooLarge();
        taskId = ++taskCount;
        served = _storeTerms(tasks[taskId], window, solverBond, challengerBond, deadline);
    }

    /// Posts a task whose input is upload `inputId` of `inputs` (docs/DAPPS.md § Large inputs), like
    /// `post`: the input's root and length are the upload's, sealed on the owner's first post
    /// (NotInputOwner for anyone else's unsealed upload); a sealed input may back any number of
    /// tasks. TaskPosted logs no input bytes: nodes read them back from the upload (InputUsed).
    function postInput(
        uint256 inputId,
        bytes32 programRoot,
        TaskState.Limits calldata limits,
        uint24 window,
        uint88 solverBond,
        uint88 challengerBond,
        uint40 deadline
    ) external payable nonReentrant returns (uint256 taskId) {
        (taskId, ) = _newTask(limits, window, solverBond, challengerBond, deadline);
        (bytes32 inRoot, uint256 length) = inputs.use(inputId, msg.sender, taskId);
        TaskState.Limits memory l = limits;
        bytes32 initialRoot = TaskState.initialStateRoot(descriptorOf(programRoot), inRoot, length, l);
        tasks[taskId].head = initialRoot;
        emit TaskPosted(taskId, programRoot, msg.sender, initialRoot, l, length, "");
    }

    function _storeInitialRoot(uint256 taskId, bytes32 programRoot, bytes calldata input, TaskState.Limits calldata limits, bool logInput) private {
        TaskState.Limits memory l = limits;
        bytes32 initialRoot = TaskState.initialStateRoot(descriptorOf(programRoot), TaskState.inputRoot(input), input.length, l);
        tasks[taskId].head = initialRoot;
        emit TaskPosted(taskId, programRoot, msg.sender, initialRoot, l, input.length, logInput ? input : input[0:0]);
    }

    /// Writes slots 1 and 2 of a new task, one SSTORE each. A poster that is not the transaction's
    /// sender (a contract, also one still in its constructor, or anything called through another
    /// contract) or that has code (an EIP-7702 account, which may batch calls) has its input logged
    /// and gets the callback: only a codeless sender is known to have sent a direct call to post.
    function _storeTerms(Task storage t, uint24 window, uint88 solverBond, uint88 challengerBond, uint40 deadline) private returns (bool served) {
        served = msg.sender != tx.origin || msg.sender.code.length != 0;
        uint256 slot1 = uint256(uint160(msg.sender)) | (msg.value << 160);
        uint256 slot2 = uint256(solverBond) |
            (uint256(challengerBond) << 88) |
            (uint256(deadline) << 176) |
            (uint256(window) << 216) |
            (uint256(uint8(ITaskMarket.Stage.Open)) << 240) |
            ((served ? uint256(1) : 0) << 248);
        assembly ("memory-safe") {
            sstore(add(t.slot, 1), slot1)
            sstore(add(t.slot, 2), slot2)
        }
    }

    // --------------------------------------------------------------------------------------------
    // Solutions

    /// Commits to a solution: `commitment` = keccak256(solver ‖ finalRoot ‖ salt) (20 + 32 + 32
    /// bytes); msg.value is the solver bond. The commitment holds the task; its solver must reveal it
    /// within the task's window (`reveal`), or anyone may `forfeit` it and its bond is burnt. (It calls
    /// nothing and pays nothing: it needs no reentrancy lock, nor does reveal.)
    function commit(uint256 taskId, bytes32 commitment) external payable {
        (Task storage t, uint256 slot3) = _openTask(taskId);
        if (slot3 & ~FLAGS != 0) revert AlreadyClaimed();
        if (block.timestamp > t.deadline) revert DeadlinePassed();
        if (msg.value != t.solverBond) revert WrongBond(t.solverBond, msg.value);
        slot3 = (block.timestamp + t.window) | ((uint256(commitment) >> 40) << 32) | (slot3 & DEFEATED);
        assembly ("memory-safe") {
            sstore(add(t.slot, 3), slot3)
        }
        emit Committed(taskId, msg.sender, commitment);
    }

    /// The committer reveals its solution, within the window after its commitment: the final state
    /// root after `steps` steps, its opening (TaskState.open), the output bytes and the salt of the
    /// commitment. The final state must be halted (the output's tree must be the state's output root)
    /// or trapped (the output must be empty), and may not have lost a game of this task before. The
    /// challenge window starts now.
    function reveal(uint256 taskId, bytes32 finalRoot, uint256 steps, bytes calldata output, bytes calldata opening, bytes32 salt) external {
        Task storage t = tasks[taskId];
        uint256 slot3;
        assembly ("memory-safe") {
            slot3 := sload(add(t.slot, 3))
        }
        if (slot3 & REVEALED != 0) revert AlreadyRevealed();
        if (slot3 & ~FLAGS == 0) revert NoClaim();
        if (block.timestamp > slot3 & MASK32) revert RevealClosed();
        if ((slot3 >> 32) & MASK216 != uint256(keccak256(abi.encodePacked(msg.sender, finalRoot, salt))) >> 40) revert CommitmentMismatch();
        uint256 result = _result(finalRoot, steps, output, opening);
        bytes32 claim = keccak256(abi.encodePacked(t.head, finalRoot, keccak256(output)));
        if (slot3 & DEFEATED != 0 && defeated[keccak256(abi.encodePacked(taskId, claim))]) revert ClaimDefeated();
        t.head = claim;
        // slot 3 in one write: solver ‖ revealTime ‖ steps ‖ status ‖ flags
        slot3 = uint256(uint160(msg.sender)) | (block.timestamp << 160) | (steps << 192) | ((result & 0xff) << 240) | (slot3 & DEFEATED) | REVEALED;
        assembly ("memory-safe") {
            sstore(add(t.slot, 3), slot3)
        }
        if (result >> 8 != 0) t.code = uint32(result >> 8);
        _revealed(taskId, finalRoot, steps, result, output);
    }

    function _revealed(uint256 taskId, bytes32 finalRoot, uint256 steps, uint256 result, bytes calldata output) private {
        uint256 status = result & 0xff;
        emit Revealed(taskId, msg.sender, finalRoot, steps, uint8(status), status == 1 ? uint32(result >> 8) : 0, status == 2 ? uint8(result >> 8) : 0, output);
    }

    /// Checks a revealed final state (see reveal); returns its status | code << 8.
    function _result(bytes32 finalRoot, uint256 steps, bytes calldata output, bytes calldata opening) private pure returns (uint256) {
        TaskState.Final memory f = TaskState.open(opening);
        if (f.root != finalRoot) revert RootMismatch();
        if (f.steps != steps) revert StepsMismatch();
        if (steps == 0 || steps > MAX_STEPS + 1) revert BadSteps();
        if (f.status == 1) {
            if (output.length != f.outLen || output.length > f.outputLimit) revert OutputMismatch();
            if (Merkle.bytesRoot(output, TaskState.outputDepth(f.outputLimit)) != f.outputRoot) revert OutputMismatch();
            return 1 | (uint256(f.exitCode) << 8);
        }
        if (f.status == 2) {
            if (output.length != 0) revert OutputMismatch();
            return 2 | (uint256(f.trap) << 8);
        }
        revert NotTerminal(f.status);
    }

    /// Anyone, once the window after a commitment has passed without its reveal: the commitment is
    /// dropped and its bond burnt; the task is open again.
    function forfeit(uint256 taskId) external nonReentrant {
        (Task storage t, uint256 slot3) = _openTask(taskId);
        if (slot3 & ~FLAGS == 0) revert NoClaim();
        if (slot3 & REVEALED != 0) revert AlreadyRevealed();
        if (block.timestamp <= slot3 & MASK32) revert RevealOpen();
        slot3 &= DEFEATED;
        assembly ("memory-safe") {
            sstore(add(t.slot, 3), slot3)
        }
        burnt += t.solverBond;
        emit Forfeited(taskId);
    }

    // --------------------------------------------------------------------------------------------
    // Challenges

    /// Challenges the solution held, within the window after its reveal; msg.value is the challenger
    /// bond. Opens a game between the solver and the caller. `initialRoot` (TaskPosted), `finalRoot`
    /// and `outputHash` (keccak256 of the output, from Revealed) identify the solution. What the
    /// challenge costs the caller is recorded in the game (refunded if the solution is defeated).
    function challenge(uint256 taskId, bytes32 initialRoot, bytes32 finalRoot, bytes32 outputHash) external payable nonReentrant returns (uint256 gameId) {
        uint256 m = Refund.begin(CHALLENGE_HEAD);
        gameId = _challenge(taskId, initialRoot, finalRoot, outputHash);
        game.credit(gameId, Refund.used(m, CHALLENGE_TAIL) * Refund.price(tipCap));
    }

    function _challenge(uint256 taskId, bytes32 initialRoot, bytes32 finalRoot, bytes32 outputHash) private returns (uint256 gameId) {
        (Task storage t, uint256 slot3) = _openTask(taskId);
        if (slot3 & REVEALED == 0) revert NoClaim();
        address solver = address(uint160(slot3));
        uint256 steps = (slot3 >> 192) & MASK48;
        if (block.timestamp > ((slot3 >> 160) & MASK32) + t.window) revert WindowClosed();
        if (msg.value != t.challengerBond) revert WrongBond(t.challengerBond, msg.value);
        bytes32 claim = keccak256(abi.encodePacked(initialRoot, finalRoot, outputHash));
        bytes32 claimHash = t.claimHash;
        if (uint256(claimHash) <= 1) {
            // first challenge of this solution: split head into initialRoot and claimHash
            if (t.head != claim) revert ClaimMismatch();
            t.head = initialRoot;
            t.claimHash = claim;
        } else if (claimHash != claim || t.head != initialRoot) revert ClaimMismatch();
        if (msg.sender == solver) revert SelfChallenge();
        gameId = _openGame(t, taskId, solver, initialRoot, finalRoot, steps);
    }

    function _openGame(Task storage t, uint256 taskId, address solver, bytes32 initialRoot, bytes32 finalRoot, uint256 steps) private returns (uint256 gameId) {
        t.openGames += 1;
        t.heldBonds += 1;
        uint32 epoch = t.epoch;
        gameId = game.open(solver, msg.sender, initialRoot, finalRoot, steps, uint96((taskId << 32) | epoch));
        challenges[gameId] = Challenge(uint64(taskId), epoch, true);
        emit Challenged(taskId, gameId, msg.sender);
    }

    /// Called by the game when a game ends (games of a defeated solution never end: they are
    /// released). The challenger lost: its bond goes to the solution's winnings, less the burnt
    /// share. The challenger won: the solution is defeated (see _defeat).
    function onGameResolved(uint256 gameId, address challenger, bool solverWon, uint256 measured) external {
        uint256 entry = gasleft();
        if (msg.sender != address(game)) revert NotGame();
        _lock();
        Challenge storage c = challenges[gameId];
        if (!c.live) revert NotLive(gameId);
        c.live = false;
        uint256 taskId = c.taskId;
        Task storage t = tasks[taskId];
        t.heldBonds -= 1;
        t.openGames -= 1;
        if (solverWon) {
            uint256 bond = t.challengerBond;
            uint256 burn = (bond * burnBps) / 10_000;
            burnt += burn;
            t.winnings += uint128(bond - burn);
        } else _defeat(t, taskId, gameId, challenger, measured == 0 ? 0 : (measured & ~uint256(1 << 255)) + entry);
        assembly ("memory-safe") {
            tstore(LOCK, 0)
        }
    }

    /// The solution held lost game `gameId` to `challenger`: its claim is never accepted again for
    /// this task, the task reopens, and the pot (the solver's bond and winnings) pays every
    /// challenge still live: the winner now, the others when released. Each gets its bond back and
    /// a refund of what it spent, scaled down only if the pot is smaller than all of them together;
    /// what is left is burnt. `m`: the winner's measurement of this transaction (0: not its move).
    function _defeat(Task storage t, uint256 taskId, uint256 gameId, address challenger, uint256 m) private {
        uint256 epoch = t.epoch;
        Payout memory x;
        x.moot = t.openGames;
        x.pot = uint256(t.solverBond) + t.winnings;
        x.bond = t.challengerBond;
        defeated[keccak256(abi.encodePacked(taskId, t.claimHash))] = true;
        emit SolutionDefeated(taskId, t.solver, gameId);
        // the solution is dropped; slot 3 keeps the flag (a non-zero slot: no refund of storage)
        assembly ("memory-safe") {
            sstore(add(t.slot, 3), DEFEATED)
        }
        t.claimHash = bytes32(uint256(1));
        t.openGames = 0;
        t.epoch = uint32(epoch + 1);
        t.code = 0;
        t.winnings = 0;
        (uint256 sum, uint256 spentW) = game.closeGroup(uint96((taskId << 32) | epoch), gameId);
        x.others = sum - spentW;
        x.units = spentW;
        uint256 paid = _payWinner(pots[taskId][epoch], challenger, x, m);
        emit ChallengerPaid(taskId, gameId, challenger, paid);
    }

    struct Payout {
        uint256 pot; // the defeated solution's bond and winnings
        uint256 moot; // its other live games
        uint256 bond; // challenger bond
        uint256 others; // what the challengers of the other live games spent
        uint256 units; // what the winner spent
    }

    function _payWinner(Pot storage p, address challenger, Payout memory x, uint256 m) private returns (uint256 paid) {
        uint256 price = Refund.price(tipCap);
        // writes at their first-write cost before measuring; the final values overwrite them below
        uint256 bal = balanceOf[challenger];
        balanceOf[challenger] = bal + 1;
        uint256 burnt0 = burnt;
        burnt = burnt0 + 1;
        if (x.moot != 0) {
            p.reserve = 1;
            p.allowance = uint128(RELEASE_GAS * price);
        }
        // m: exec so far (low 64 bits, with the gas left at this frame's entry added) ‖ intrinsic << 64
        if (m != 0) x.units += Refund.total((m & MASK64) + DEFEAT_TAIL + (x.moot != 0 ? DEFEAT_MOOT_TAIL : 0) - gasleft(), m >> 64) * price;
        uint256 claimed = x.others + x.units + x.moot * RELEASE_GAS * price;
        uint256 kept = x.pot < claimed ? x.pot : claimed;
        paid = claimed == 0 ? 0 : (x.units * kept) / claimed; // (nothing claimed: a chain without gas prices)
        balanceOf[challenger] = bal + x.bond + paid;
        if (x.moot != 0) {
            p.reserve = uint96(kept - paid);
            p.units = uint96(claimed - x.units);
            p.pending = uint32(x.moot);
            burnt = burnt0 + x.pot - kept;
        } else burnt = burnt0 + x.pot - paid;
    }

    /// Anyone: ends a game of a solution defeated in another game. The game is aborted and its
    /// challenger paid: its bond back and its share of the defeated solution's pot (`_defeat`; its
    /// release transaction counts when it sends it itself).
    function release(uint256 gameId) external nonReentrant {
        uint256 m = Refund.begin(RELEASE_HEAD);
        Challenge storage c = challenges[gameId];
        if (!c.live) revert NotLive(gameId);
        uint256 taskId = c.taskId;
        uint256 epoch = c.epoch;
        Task storage t = tasks[taskId];
        if (epoch == t.epoch) revert ClaimAlive();
        c.live = false;
        t.heldBonds -= 1;
        (address challenger, uint256 spent) = game.abort(gameId);
        uint256 paid = _payReleased(pots[taskId][epoch], challenger, t.challengerBond, spent, m);
        emit ChallengeReleased(taskId, gameId);
        emit ChallengerPaid(taskId, gameId, challenger, paid);
    }

    /// Pays the challenger of a released game its bond and its share of the pot `p`; the last one
    /// released burns what is left.
    function _payReleased(Pot storage p, address challenger, uint256 bond, uint256 spent, uint256 m) private returns (uint256 paid) {
        uint256 reserve = p.reserve;
        uint256 pending = p.pending;
        uint256 bal = balanceOf[challenger];
        // writes at their first-write cost before measuring
        balanceOf[challenger] = bal + 1;
        p.pending = uint32(pending - 1);
        uint256 burnt0 = burnt;
        if (pending == 1) burnt = burnt0 + 1;
        uint256 due = msg.sender == challenger ? Refund.used(m, RELEASE_TAIL + (pending == 1 ? RELEASE_LAST_TAIL : 0)) * Refund.price(tipCap) : 0;
        uint256 reserved = spent + p.allowance;
        due = spent + (due < p.allowance ? due : p.allowance);
        uint256 units = p.units;
        paid = units == 0 ? 0 : (reserved * reserve) / units;
        if (due < paid) paid = due;
        reserve -= paid;
        balanceOf[challenger] = bal + bond + paid;
        if (pending == 1) {
            burnt = burnt0 + reserve;
            reserve = 0;
            p.done = true;
        }
        p.reserve = uint96(reserve);
        p.units = uint96(units - reserved);
    }

    // --------------------------------------------------------------------------------------------
    // Ends

    /// Anyone, after the challenge window with every game resolved in the solver's favour: pays the
    /// solver (reward + bond + winnings) and delivers the output to the poster. `initialRoot`,
    /// `finalRoot` and `output` as posted and revealed.
    function finalize(uint256 taskId, bytes32 initialRoot, bytes32 finalRoot, bytes calldata output) external nonReentrant {
        (Task storage t, uint256 slot3) = _openTask(taskId);
        if (slot3 & REVEALED == 0) revert NoClaim();
        address solver = address(uint160(slot3));
        if (block.timestamp <= ((slot3 >> 160) & MASK32) + t.window) revert WindowOpen();
        bytes32 claim = keccak256(abi.encodePacked(initialRoot, finalRoot, keccak256(output)));
        uint256 winnings;
        if (t.head != claim) {
            // challenged (else head would be the claim): every game must be over
            if (t.claimHash != claim) revert ClaimMismatch();
            if (t.openGames != 0) revert GamesPending(t.openGames);
            winnings = t.winnings;
        }
        t.stage = ITaskMarket.Stage.Finalized;
        balanceOf[solver] += uint256(t.reward) + t.solverBond + winnings;
        uint8 status = uint8(slot3 >> 240);
        emit Finalized(taskId, solver, status);
        if (t.callback) _callback(t.poster, taskId, output, status, t.code);
    }

    /// Anyone, after the deadline when no solution is held: refunds the reward to the poster.
    function expire(uint256 taskId) external nonReentrant {
        (Task storage t, uint256 slot3) = _openTask(taskId);
        if (slot3 & ~FLAGS != 0) revert ClaimPending();
        if (block.timestamp <= t.deadline) revert DeadlineNotPassed();
        t.stage = ITaskMarket.Stage.Expired;
        balanceOf[t.poster] += t.reward;
        emit Expired(taskId);
        if (t.callback) _callback(t.poster, taskId, "", 0, 0);
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
        ITaskMarket.Stage stage;
        bool callback;
        bool committed; // a solution is held (committed, maybe revealed)
        bool revealed;
        uint256 revealBy; // committed, not revealed: the last second to reveal
        address solver; // once revealed
        uint256 steps;
        uint256 commitTime; // of the reveal
        uint8 status;
        uint32 exitCode; // when halted
        uint8 trap; // when trapped
        bytes32 claimHash;
        uint256 openGames;
        uint256 heldBonds;
        uint256 epoch;
        uint256 winnings;
    }

    /// A task's stage and the solution held, once revealed (ITaskMarket.resultOf): its status (1
    /// halted, 2 trapped; 0 while none is revealed), code (exit or trap code) and solver.
    function resultOf(uint256 taskId) external view returns (ITaskMarket.Stage stage, uint8 status, uint32 code, address solver) {
        Task storage t = tasks[taskId];
        stage = t.stage;
        uint256 slot3;
        assembly ("memory-safe") {
            slot3 := sload(add(t.slot, 3))
        }
        if (slot3 & REVEALED != 0) {
            solver = address(uint160(slot3));
            status = uint8(slot3 >> 240);
            code = t.code;
        }
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
        uint256 slot3;
        assembly ("memory-safe") {
            slot3 := sload(add(t.slot, 3))
        }
        v.committed = slot3 & ~FLAGS != 0;
        v.revealed = slot3 & REVEALED != 0;
        if (v.committed && !v.revealed) v.revealBy = slot3 & MASK32;
        if (v.revealed) {
            v.solver = t.solver;
            v.steps = t.steps;
            v.commitTime = t.commitTime;
            v.status = t.status;
        }
        if (v.status == 1) v.exitCode = t.code;
        if (v.status == 2) v.trap = uint8(t.code);
        v.claimHash = uint256(t.claimHash) <= 1 ? bytes32(0) : t.claimHash;
        v.openGames = t.openGames;
        v.heldBonds = t.heldBonds;
        v.epoch = t.epoch;
        v.winnings = t.winnings;
    }

    /// What a defeated solution (task, epoch) still holds for its challenges to be released.
    function potOf(uint256 taskId, uint256 epoch) external view returns (uint256 reserve, uint256 units, uint256 pending, uint256 allowance) {
        Pot storage p = pots[taskId][epoch];
        return (p.reserve, p.units, p.pending, p.allowance);
    }

    /// ETH held for a task: the reward until it is paid or refunded, the bond and winnings of the
    /// solution held, the bonds of its unresolved challenges, and what defeated solutions still hold
    /// for their challengers.
    function escrowOf(uint256 taskId) public view returns (uint256 amount) {
        Task storage t = tasks[taskId];
        if (t.stage == ITaskMarket.Stage.Open) {
            amount = t.reward;
            uint256 slot3;
            assembly ("memory-safe") {
                slot3 := sload(add(t.slot, 3))
            }
            if (slot3 & ~FLAGS != 0) amount += uint256(t.solverBond) + t.winnings;
        }
        amount += uint256(t.heldBonds) * t.challengerBond;
        for (uint256 e = 0; e < t.epoch; e++) amount += pots[taskId][e].reserve;
    }

    /// Everything the contract owes except withdrawable balances: escrow of all tasks, plus `burnt`
    /// (never paid out). Loops over all tasks: for tests and monitoring, not for transactions.
    function heldTotal() external view returns (uint256 total) {
        total = burnt;
        for (uint256 i = 1; i <= taskCount; i++) total += escrowOf(i);
    }

    // --------------------------------------------------------------------------------------------
    // Internals

    /// The task, which must be open, and its slot 3 (the commitment or the revealed solution, flags).
    function _openTask(uint256 taskId) private view returns (Task storage t, uint256 slot3) {
        t = tasks[taskId];
        ITaskMarket.Stage stage = t.stage;
        if (stage != ITaskMarket.Stage.Open) _notOpen(taskId, stage);
        assembly ("memory-safe") {
            slot3 := sload(add(t.slot, 3))
        }
    }

    function _notOpen(uint256 taskId, ITaskMarket.Stage stage) private pure {
        if (stage == ITaskMarket.Stage.None) revert UnknownTask(taskId);
        revert TaskClosed(taskId);
    }

    /// Calls the poster's onTaskResult with exactly callbackGas gas; its failure is ignored, and its
    /// return data never copied. The gas check comes after the call data is built, right before the
    /// call: whoever calls finalize/expire must leave enough for the callback whatever the output's
    /// size, or the whole call reverts (nobody can make the callback fail by starving it).
    function _callback(address poster, uint256 taskId, bytes memory output, uint8 status, uint32 code) private {
        uint256 g = callbackGas;
        bytes memory data = abi.encodeCall(ITaskCallback.onTaskResult, (taskId, output, status, code));
        bool ok;
        bool starved;
        assembly ("memory-safe") {
            // the callee gets min(g, 63/64 of what is left after the call's own cost)
            starved := lt(gas(), add(add(g, div(g, 63)), CALL_OVERHEAD))
            if iszero(starved) {
                ok := call(g, poster, 0, add(data, 32), mload(data), 0, 0)
            }
        }
        if (starved) revert InsufficientGas();
        if (!ok) emit CallbackFailed(taskId);
    }
}
