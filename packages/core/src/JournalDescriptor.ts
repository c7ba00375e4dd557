/**
 * The on-disk format of a velox journal (drawn in the kernel module): segment header with the record
 * layout, checksummed batches of records exactly as they sit in a ring, the sparse index and the
 * trailer of a sealed segment. For tools that read or check journals; `@velox/node` reads and writes
 * them.
 *
 * @category layout
 * @since 0.1.0
 */
export * from "./internal/kernel/journalDescriptor.ts"
