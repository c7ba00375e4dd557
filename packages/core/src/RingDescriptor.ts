/**
 * The byte layout of a ring header (drawn in the kernel module), for tools that inspect rings.
 *
 * @category layout
 * @since 0.1.0
 */
export * from "./internal/kernel/ringDescriptor.ts"
