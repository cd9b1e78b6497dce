// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Merkle} from "../state/Merkle.sol";

/// A task input's tree (docs/STATE.md §2.9: the bytes in 32-byte leaves, the last one zero-padded, at
/// depth depthOf(ceil(len / 32))) folded in chunk by chunk, for inputs larger than one transaction.
///
/// Only a frontier is stored, as in the deposit contract's incremental tree: `branch[h]` is the root
/// of the last complete subtree of height h to the left of the next leaf (meaningful where bit h of
/// the leaf count is set). A chunk is folded in as aligned subtrees: at leaf count c, the next piece
/// has 2^h leaves with h the largest height such that 2^h divides c and fits in what is left of the
/// chunk; each piece's root is computed in memory (Merkle.bytesRoot, one copy of its calldata) and
/// carried up the frontier, so a chunk costs one storage write per piece (a chunk of 2^h leaves at
/// a multiple of 2^h: one), never one per leaf. Every chunk but the last is a multiple of 32 bytes;
/// the last may end inside a leaf, which is zero-padded like the input tree's last leaf.
///
/// `root` climbs from the frontier to depth depthOf(leaves), so the result is exactly
/// TaskState.inputRoot of the concatenated chunks, whatever the chunk sizes were.
library InputTree {
    /// The input's length so far is not a multiple of 32: its last chunk is already in.
    error InputUnaligned(uint256 length);
    /// The input would exceed 2^32 - 1 bytes (lengths are u32 in the state).
    error InputTooLong(uint256 length);

    /// Leaves up to 2^27 (inputs below 2^32 bytes): heights 0..27.
    struct Frontier {
        bytes32[28] branch;
    }

    /// Folds `chunk` into the tree of the `length` bytes already in; returns the new length.
    function append(Frontier storage f, uint256 length, bytes calldata chunk) internal returns (uint256) {
        if (length & 31 != 0) revert InputUnaligned(length);
        uint256 end = length + chunk.length;
        if (end > type(uint32).max) revert InputTooLong(end);
        uint256 c = length >> 5; // leaves in
        uint256 left = Merkle.leavesOf(chunk.length); // leaves of the chunk
        uint256 off = 0;
        while (left != 0) {
            // the largest aligned piece: 2^h divides c, 2^h <= left
            uint256 h = _log2(left);
            if (c != 0) {
                uint256 tz = _ctz(c);
                if (tz < h) h = tz;
            }
            uint256 pieceBytes = 32 << h;
            uint256 stop = off + pieceBytes;
            if (stop > chunk.length) stop = chunk.length;
            _insert(f, c, h, Merkle.bytesRoot(chunk[off:stop], h));
            c += uint256(1) << h;
            left -= uint256(1) << h;
            off = stop;
        }
        return end;
    }

    /// The root of the input tree of `length` bytes (0 for an empty input).
    function root(Frontier storage f, uint256 length) internal view returns (bytes32 x) {
        uint256 n = Merkle.leavesOf(length);
        if (n == 0) return 0;
        uint256 d = Merkle.depthOf(n);
        if (n == uint256(1) << d) return f.branch[d]; // complete: the last carry stored it there
        bytes32 z = 0; // Z[level]
        x = 0; // the subtree right of the frontier at this level: zeros or what is carried up
        for (uint256 level = 0; level < d; level++) {
            if ((n >> level) & 1 == 1) x = Merkle.node(f.branch[level], x);
            else x = Merkle.node(x, z);
            z = Merkle.node(z, z);
        }
    }

    /// Stores the root `x` of the subtree of height h whose first leaf is leaf c (2^h divides c).
    function _insert(Frontier storage f, uint256 c, uint256 h, bytes32 x) private {
        uint256 size = (c >> h) + 1;
        for (uint256 level = h; ; level++) {
            if (size & 1 == 1) {
                f.branch[level] = x;
                return;
            }
            x = Merkle.node(f.branch[level], x);
            size >>= 1;
        }
    }

    /// floor(log2 n), n > 0.
    function _log2(uint256 n) private pure returns (uint256 r) {
        while (n > 1) {
            n >>= 1;
            r++;
        }
    }

    /// Trailing zero bits of n > 0.
    function _ctz(uint256 n) private pure returns (uint256 r) {
        while (n & 1 == 0) {
            n >>= 1;
            r++;
        }
    }
}
