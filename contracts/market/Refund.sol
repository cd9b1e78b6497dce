// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// Measuring what a transaction costs its sender, for the gas refunds of challengers (docs/GAME.md,
/// "Refunds"). A measurement starts at the top of the function (`begin`, with the gas the frame used
/// before that point, a constant per entry point) and ends in `used` (with the gas the frame will
/// still use after that point, a constant per path). When the caller is the transaction's sender
/// and an account without code, the call is the whole transaction: the measurement then adds the
/// intrinsic cost (21,000 and the calldata, with the EIP-7623 floor) exactly as the protocol charges
/// it. Calls made by contracts (or EIP-7702 accounts, which can batch calls) are charged their
/// execution only: whoever batches pays its own overhead.
///
/// The price is the transaction's gas price, at most the block's base fee plus `tipCap`: a block
/// builder's own transactions cannot be refunded a tip it pays itself beyond that cap.
library Refund {
    /// Starts a measurement: the gas left plus `head`, the gas the frame used before this point.
    function begin(uint256 head) internal view returns (uint256) {
        return gasleft() + head;
    }

    /// When the caller is the transaction's sender and has no code: 1 | calldata tokens << 1 (the
    /// call is the whole transaction, its intrinsic cost counts); otherwise 0.
    function intrinsic() internal view returns (uint256) {
        if (msg.sender != tx.origin || msg.sender.code.length != 0) return 0;
        return 1 | (calldataTokens() << 1);
    }

    /// Gas of the whole call (or transaction, when direct) measured from `m` (begin), with `tail`
    /// gas still to be spent after this point.
    function used(uint256 m, uint256 tail) internal view returns (uint256) {
        uint256 i = intrinsic();
        return total(m + tail - gasleft(), i);
    }

    /// Gas charged for `exec` gas of execution and the intrinsic part `i` (see intrinsic):
    /// 21,000 + max(4 · tokens + exec, 10 · tokens) (EIP-2028, EIP-7623) when direct.
    function total(uint256 exec, uint256 i) internal pure returns (uint256) {
        if (i == 0) return exec;
        uint256 tokens = i >> 1;
        uint256 standard = 4 * tokens + exec;
        uint256 floor = 10 * tokens;
        return 21_000 + (standard > floor ? standard : floor);
    }

    /// Gas price refunded: the transaction's, at most base fee + tipCap.
    function price(uint256 tipCap) internal view returns (uint256) {
        uint256 cap = block.basefee + tipCap;
        return tx.gasprice < cap ? tx.gasprice : cap;
    }

    /// EIP-2028/7623 tokens of msg.data: zero bytes count 1, non-zero bytes 4.
    function calldataTokens() internal pure returns (uint256 tokens) {
        assembly ("memory-safe") {
            let n := calldatasize()
            let nonzero := 0
            let m4 := 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f
            let m2 := 0x3333333333333333333333333333333333333333333333333333333333333333
            let m1 := 0x5555555555555555555555555555555555555555555555555555555555555555
            let ones := 0x0101010101010101010101010101010101010101010101010101010101010101
            for {
                let i := 0
            } lt(i, n) {
                i := add(i, 32)
            } {
                // bit 0 of each byte := OR of its 8 bits (past the end calldataload pads with zeros)
                let t := calldataload(i)
                t := or(t, and(shr(4, t), m4))
                t := or(t, and(shr(2, t), m2))
                t := or(t, and(shr(1, t), m1))
                nonzero := add(nonzero, shr(248, mul(and(t, ones), ones)))
            }
            tokens := add(n, mul(3, nonzero))
        }
    }
}
