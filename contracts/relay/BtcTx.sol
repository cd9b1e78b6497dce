// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// Reading a raw Bitcoin transaction (docs/RELAY.md, "relayTx"), for dapps that act on a payment:
/// its txid and its outputs (value in satoshi, output script).
///
/// The raw transaction is the serialization that hashes to the txid: version ‖ inputs ‖ outputs ‖
/// locktime, without the segwit marker, flag and witnesses (Bitcoin Core's
/// `getrawtransaction`/`decoderawtransaction` "hex" of a segwit transaction has them: strip them,
/// or take the bytes BIP144 calls the "non-witness serialization"). A serialization with a witness
/// is refused: its marker byte reads as zero inputs.
///
/// `outputs` walks the whole transaction once (every input, every output) and requires it to end
/// exactly at its locktime, so the offsets it returns are those of a well-formed transaction.
library BtcTx {
    /// The bytes are not one complete, well-formed transaction (the first offending offset).
    error BadTransaction(uint256 offset);

    /// Walks `raw` and returns where its outputs start and how many there are. Reverts with
    /// BadTransaction when `raw` is not exactly one transaction, or has no input or no output.
    function outputs(bytes calldata raw) internal pure returns (uint256 offset, uint256 count) {
        uint256 end = raw.length;
        uint256 p = 4; // version
        uint256 n;
        (n, p) = readVarInt(raw, p);
        if (n == 0) revert BadTransaction(4); // no input (or a segwit marker)
        for (uint256 i = 0; i < n; i++) {
            uint256 len;
            (len, p) = readVarInt(raw, p + 36); // outpoint: txid ‖ index
            p += len + 4; // script ‖ sequence
            if (p > end) revert BadTransaction(end);
        }
        (count, p) = readVarInt(raw, p);
        if (count == 0) revert BadTransaction(p);
        offset = p;
        for (uint256 i = 0; i < count; i++) {
            uint256 len;
            (len, p) = readVarInt(raw, p + 8); // value
            p += len;
            if (p > end) revert BadTransaction(end);
        }
        if (p + 4 != end) revert BadTransaction(p); // locktime, then nothing
    }

    /// The output at `offset` (from `outputs`, then the `next` of the previous one): its value in
    /// satoshi, its script, and the offset of the next output.
    function outputAt(bytes calldata raw, uint256 offset) internal pure returns (uint64 value, bytes calldata script, uint256 next) {
        if (offset + 9 > raw.length) revert BadTransaction(offset);
        value = _le64(raw, offset);
        uint256 len;
        (len, next) = readVarInt(raw, offset + 8);
        if (next + len > raw.length) revert BadTransaction(next);
        script = raw[next:next + len];
        next += len;
    }

    /// Bitcoin's CompactSize at `p`: the value and the offset after it. Non-canonical encodings
    /// (a value that fits a shorter form) are refused, as Bitcoin Core does.
    function readVarInt(bytes calldata raw, uint256 p) internal pure returns (uint256 v, uint256 next) {
        if (p >= raw.length) revert BadTransaction(p);
        uint8 b = uint8(raw[p]);
        if (b < 0xfd) return (b, p + 1);
        uint256 size = b == 0xfd ? 2 : b == 0xfe ? 4 : 8;
        if (p + 1 + size > raw.length) revert BadTransaction(p);
        for (uint256 i = 0; i < size; i++) v |= uint256(uint8(raw[p + 1 + i])) << (8 * i);
        if (v < (size == 2 ? 0xfd : size == 4 ? 0x10000 : 0x100000000)) revert BadTransaction(p);
        return (v, p + 1 + size);
    }

    /// The transaction id: SHA-256d of the raw bytes, in Bitcoin's internal byte order.
    function txid(bytes calldata raw) internal view returns (bytes32 h) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, raw.offset, raw.length)
            if iszero(staticcall(gas(), 2, m, raw.length, 0, 32)) {
                revert(0, 0)
            }
            if iszero(staticcall(gas(), 2, 0, 32, 0, 32)) {
                revert(0, 0)
            }
            h := mload(0)
        }
    }

    function _le64(bytes calldata raw, uint256 p) private pure returns (uint64 v) {
        uint64 x = uint64(bytes8(raw[p:p + 8]));
        x = ((x & 0xff00ff00ff00ff00) >> 8) | ((x & 0x00ff00ff00ff00ff) << 8);
        x = ((x & 0xffff0000ffff0000) >> 16) | ((x & 0x0000ffff0000ffff) << 16);
        return (x >> 32) | (x << 32);
    }
}
