import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Doorbell, IdleStrategy, OneToOneRing, RingDescriptor } from "../src/index.ts"
import { Seq } from "./fixtures/seqRecord.ts"
import { spawn, within } from "./fixtures/workerAgent.ts"

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url)

const seqRing = (capacity: number) => {
  const handle = OneToOneRing.makeUnsafe({ capacity, slotBytes: Seq.byteLength })
  return { handle, view: OneToOneRing.viewUnsafe(handle, Seq) }
}

interface Done {
  readonly type: "done"
  readonly records: number
  readonly rounds: number
  readonly errors: number
  readonly firstError: string | undefined
  readonly notifyCount: number
  readonly parkCount: number
}

describe("Doorbell", () => {
  it("ringing a bell nobody armed costs no notify", () => {
    const bell = new Doorbell.Doorbell(Doorbell.make())
    for (let i = 0; i < 100; i++) bell.ring()
    assert.strictEqual(bell.notifyCount, 0)
    assert.isFalse(bell.isArmed())
  })

  it("ringing an armed bell disarms it and notifies once", () => {
    const ref = Doorbell.make()
    const parker = new Doorbell.Doorbell(ref)
    const waker = new Doorbell.Doorbell(ref)
    parker.arm()
    assert.isTrue(waker.isArmed())
    waker.ring()
    waker.ring()
    assert.strictEqual(waker.notifyCount, 1)
    assert.isFalse(parker.isArmed())
    assert.strictEqual(parker.wait(Infinity), "not-equal", "a wait after the ring returns at once")
  })

  it("a bell must be 4-byte aligned, and says where it is", () => {
    assert.throws(
      () => new Doorbell.Doorbell({ buffer: new SharedArrayBuffer(8), byteOffset: 2 }),
      RangeError,
      "doorbell must be 4-byte aligned: byteOffset=2"
    )
  })

  it.live("an armed bell's async wait resolves when it is rung", () =>
    Effect.gen(function*() {
      const ref = Doorbell.make()
      const parker = new Doorbell.Doorbell(ref)
      parker.arm()
      const waiting = parker.waitAsync(Infinity)
      new Doorbell.Doorbell(ref).ring()
      assert.strictEqual(yield* Effect.promise(() => waiting), "ok")
    }))
})

/** Runs `f` with `Atomics.wait` replaced by one that records each timeout (ms) and times out at once. */
const withRecordedWaits = (f: (timeoutsMs: Array<number>) => void): void => {
  const wait = Atomics.wait
  const timeoutsMs: Array<number> = []
  Atomics.wait = ((_a: Int32Array, _i: number, _v: number, t?: number) => {
    timeoutsMs.push(t ?? Infinity)
    return "timed-out"
  }) as typeof Atomics.wait
  try {
    f(timeoutsMs)
  } finally {
    Atomics.wait = wait
  }
}

describe("BackoffIdleStrategy", () => {
  it("a loop with nothing to do reports zero work, spins maxSpins times, then parks on every idle", () => {
    const { handle } = seqRing(8)
    const consumer = new OneToOneRing.RingConsumer(handle)
    const idle = new IdleStrategy.BackoffIdleStrategy(consumer.consumerBell, () => consumer.hasWork(), {
      spinNs: Infinity, // rounds only: no time budget to run out on a slow machine
      maxSpins: 10,
      minParkNs: 1_000,
      maxParkNs: 100_000
    })
    const parkCounts: Array<number> = []
    for (let i = 0; i < 40; i++) {
      const work = consumer.poll(8)
      assert.strictEqual(work, 0)
      idle.idle(work)
      parkCounts.push(idle.parkCount)
    }
    assert.deepStrictEqual(parkCounts.slice(0, 10), new Array(10).fill(0), "the first 10 idles spin")
    assert.deepStrictEqual(parkCounts.slice(10), Array.from({ length: 30 }, (_, i) => i + 1), "each later idle parks")
    assert.isFalse(consumer.consumerBell.isArmed(), "the bell is disarmed after every park")
  })

  it("any work resets the backoff to spinning", () => {
    const bell = new Doorbell.Doorbell(Doorbell.make())
    const idle = new IdleStrategy.BackoffIdleStrategy(bell, () => false, {
      spinNs: Infinity,
      maxSpins: 3,
      minParkNs: 1_000,
      maxParkNs: 1_000
    })
    for (let i = 0; i < 5; i++) idle.idle(0)
    assert.strictEqual(idle.parkCount, 2)
    idle.idle(1)
    for (let i = 0; i < 3; i++) idle.idle(0)
    assert.strictEqual(idle.parkCount, 2, "spinning again after work")
    idle.idle(0)
    assert.strictEqual(idle.parkCount, 3)
    idle.reset()
    idle.idle(0)
    assert.strictEqual(idle.parkCount, 3, "reset goes back to spinning too")
  })

  it("spins for spinNs of the loop's clock since its last work, whatever the rounds, then parks", () => {
    const bell = new Doorbell.Doorbell(Doorbell.make())
    let now = 1_000_000
    const idle = new IdleStrategy.BackoffIdleStrategy(bell, () => false, {
      spinNs: 50_000,
      minParkNs: 1_000,
      maxParkNs: 1_000
    }, () => now)
    assert.strictEqual(idle.maxSpins, Infinity, "by default the time budget alone ends the spin phase")
    for (let i = 0; i < 1_000; i++) idle.idle(0)
    assert.strictEqual(idle.parkCount, 0, "a thousand rounds in no time: still spinning")
    now += 49_999
    idle.idle(0)
    assert.strictEqual(idle.parkCount, 0, "1 ns of the budget left")
    now += 1
    idle.idle(0)
    assert.strictEqual(idle.parkCount, 1, "budget spent: parks")
    idle.idle(0)
    assert.strictEqual(idle.parkCount, 2, "and parks on every idle after")
    idle.idle(1)
    now += 1_000_000
    idle.idle(0)
    now += 49_999
    idle.idle(0)
    assert.strictEqual(idle.parkCount, 2, "work starts a new budget, from the first idle after it")
    now += 1
    idle.idle(0)
    assert.strictEqual(idle.parkCount, 3)
  })

  it("spinNs 0 parks on the first idle; maxSpins ends the spin phase first when it comes first", () => {
    const bell = new Doorbell.Doorbell(Doorbell.make())
    const now = 0
    const atOnce = new IdleStrategy.BackoffIdleStrategy(bell, () => false, { spinNs: 0, minParkNs: 1_000, maxParkNs: 1_000 }, () => now)
    atOnce.idle(0)
    assert.strictEqual(atOnce.parkCount, 1)
    const rounds = new IdleStrategy.BackoffIdleStrategy(bell, () => false, {
      spinNs: 50_000,
      maxSpins: 3,
      minParkNs: 1_000,
      maxParkNs: 1_000
    }, () => now)
    for (let i = 0; i < 3; i++) rounds.idle(0)
    assert.strictEqual(rounds.parkCount, 0)
    rounds.idle(0)
    assert.strictEqual(rounds.parkCount, 1, "three rounds, with the clock standing still")
  })

  it("parkUntilNs bounds a park by a deadline on the strategy's clock, read when it parks", () => {
    withRecordedWaits((timeoutsMs) => {
      let now = 1_000_000
      let reads = 0
      const idle = new IdleStrategy.BackoffIdleStrategy(new Doorbell.Doorbell(Doorbell.make()), () => false, {
        spinNs: Infinity,
        maxSpins: 2,
        minParkNs: 1_000_000,
        maxParkNs: Infinity
      }, () => {
        reads++
        return now
    })
    idle.parkUntilNs = now + 5_000
    idle.idle(0)
    idle.idle(0)
    assert.strictEqual(reads, 0, "no clock read while spinning by rounds")
    now += 1_000
    idle.idle(0)
    assert.deepStrictEqual(timeoutsMs, [0.004], "parks until the deadline: 4 µs left of it")
    idle.parkUntilNs = now - 1
    idle.idle(0)
    assert.strictEqual(timeoutsMs[1], 0, "a deadline already past: a zero wait")
    idle.parkUntilNs = Infinity
    idle.idle(0)
    assert.strictEqual(timeoutsMs[2], 4, "no deadline: the doubling park alone (1, 2, now 4 ms)")
    })
  })

  it("parkUntil is asked for the deadline only when about to park, never while spinning", () => {
    withRecordedWaits((timeoutsMs) => {
      const now = 1_000_000
      let asked = 0
      let due = now + 7_000
      const idle = new IdleStrategy.BackoffIdleStrategy(new Doorbell.Doorbell(Doorbell.make()), () => false, {
        spinNs: Infinity,
        maxSpins: 5,
        minParkNs: Infinity,
        maxParkNs: Infinity
      }, () => now)
      idle.parkUntilNs = now + 1_000 // ignored: parkUntil answers instead
      idle.parkUntil = () => {
        asked++
        return due
      }
      for (let i = 0; i < 5; i++) idle.idle(0)
      assert.strictEqual(asked, 0, "five spin rounds, no deadline asked")
      idle.idle(0)
      assert.strictEqual(asked, 1)
      assert.deepStrictEqual(timeoutsMs, [0.007], "parks until parkUntil's deadline: 7 µs")
      due = Infinity
      idle.idle(0)
      assert.strictEqual(timeoutsMs[1], Infinity, "no deadline and minParkNs Infinity: parks until rung")
    })
  })

  it("parkUntilDue parks at once, with no spins, and idle spins again after work", () => {
    const bell = new Doorbell.Doorbell(Doorbell.make())
    const idle = new IdleStrategy.BackoffIdleStrategy(bell, () => false, { maxSpins: 200, minParkNs: 1_000 })
    idle.parkLimitNs = 1_000_000
    idle.parkUntilDue()
    idle.parkUntilDue()
    assert.strictEqual(idle.parkCount, 2, "two parks, no spin before either")
    assert.isFalse(bell.isArmed())
    idle.idle(1)
    idle.idle(0)
    assert.strictEqual(idle.parkCount, 2, "after work, idle spins again")
  })

  it("a park with no deadline that lapses and then finds work counts a missed wake-up; one that finds none, or had a deadline, does not", () => {
    // No thread rings this bell: work that appears while the loop is parked is a wake-up that never came.
    const answers: Array<boolean> = []
    const idle = new IdleStrategy.BackoffIdleStrategy(
      new Doorbell.Doorbell(Doorbell.make()),
      () => answers.shift() ?? false,
      { spinNs: 0, minParkNs: 2e6, maxParkNs: 2e6 }
    )
    answers.push(false, false) // the re-check before the wait, then the look after it lapsed
    idle.idle(0)
    assert.deepStrictEqual([idle.parkCount, idle.missedWakes], [1, 0], "nothing arrived: an idle lapse")
    answers.push(false, true)
    idle.idle(0)
    assert.deepStrictEqual([idle.parkCount, idle.missedWakes], [2, 1], "work arrived and nobody rang")
    idle.parkLimitNs = 2e6
    answers.push(false, true)
    idle.idle(0)
    assert.deepStrictEqual([idle.parkCount, idle.missedWakes], [3, 1], "a park to a deadline is meant to lapse")
    assert.strictEqual(answers.length, 1, "a lapse with a deadline does not look for work")
  })

  it("a consumer's release that lands while a producer waiting for room looks for its deadline is not slept through", () => {
    // A producer loop as the runner builds one: it has work while its output has room, and its deadline
    // looks at the ring again (blocked on a full output: none; else its next timer, none here).
    const { handle } = seqRing(4)
    const producer = new OneToOneRing.RingProducer(handle)
    const consumer = new OneToOneRing.RingConsumer(handle)
    assert.strictEqual(producer.claim(4), 4)
    producer.publish(4)
    assert.strictEqual(consumer.poll(4), 4)
    const words = new Int32Array(handle.buffer)
    const headIndex = (handle.byteOffset + RingDescriptor.HEAD_OFFSET) >> 2
    const wantsRoomIndex = (handle.byteOffset + RingDescriptor.WANTS_ROOM_OFFSET) >> 2
    const noTimerDueNs = Infinity
    // The consumer's release in its two steps, as two threads can interleave them with the producer's
    // park: HEAD is stored while the producer looks for its deadline, WANTS_ROOM loaded (and the bell
    // rung if it is raised) once the producer waits.
    let released = false
    const idle = new IdleStrategy.BackoffIdleStrategy(producer.producerBell, () => producer.room(1) > 0, { spinNs: 0 })
    idle.parkUntil = () => {
      if (!released) {
        released = true
        Atomics.store(words, headIndex, Atomics.load(words, headIndex) + 4)
      }
      return producer.room(1) === 0 ? Infinity : noTimerDueNs
    }
    let sleptWithRoom = false
    withRecordedWaits(() => {
      const recorded = Atomics.wait
      Atomics.wait = ((a: Int32Array, i: number, v: number, t?: number) => {
        if (Atomics.load(words, wantsRoomIndex) !== 0) consumer.producerBell.ring()
        // Still armed: no ring is coming, and the producer would sleep with room in its ring.
        sleptWithRoom = producer.producerBell.isArmed() && producer.room(1) > 0
        return recorded(a, i, v, t)
      }) as typeof Atomics.wait
      idle.idle(0)
    })
    assert.isTrue(released)
    assert.isFalse(sleptWithRoom, "the producer parked with room and no ring coming")
    assert.strictEqual(producer.room(4), 4)
  })

  it("does not park when the re-check after arming finds work, and leaves the bell disarmed", () => {
    const bell = new Doorbell.Doorbell(Doorbell.make())
    let armedDuringCheck = false
    const idle = new IdleStrategy.BackoffIdleStrategy(bell, () => {
      armedDuringCheck = bell.isArmed()
      return true
    }, { maxSpins: 0, minParkNs: Infinity, maxParkNs: Infinity })
    idle.idle(0) // would park forever if the re-check were skipped
    assert.isTrue(armedDuringCheck, "the bell is armed before the re-check")
    assert.strictEqual(idle.parkCount, 0)
    assert.isFalse(bell.isArmed())
  })

  it("rejects bad bounds, naming them", () => {
    const bell = new Doorbell.Doorbell(Doorbell.make())
    assert.throws(
      () => new IdleStrategy.BackoffIdleStrategy(bell, () => false, { maxSpins: -1 }),
      RangeError,
      "maxSpins must be >= 0: maxSpins=-1"
    )
    for (const spinNs of [-1, NaN]) {
      assert.throws(
        () => new IdleStrategy.BackoffIdleStrategy(bell, () => false, { spinNs }),
        RangeError,
        `spinNs must be >= 0: spinNs=${spinNs}`
      )
    }
    assert.throws(
      () => new IdleStrategy.BackoffIdleStrategy(bell, () => false, { minParkNs: 5_000, maxParkNs: 1_000 }),
      RangeError,
      "minParkNs=5000 maxParkNs=1000"
    )
    assert.throws(() => new IdleStrategy.BackoffIdleStrategy(bell, () => false, { minParkNs: 0 }), RangeError, "minParkNs=0")
    for (const timerSlackNs of [0, -1, 1.5, NaN]) {
      assert.throws(
        () => new IdleStrategy.BackoffIdleStrategy(bell, () => false, { timerSlackNs }),
        RangeError,
        `timerSlackNs must be a positive integer: timerSlackNs=${timerSlackNs}`
      )
    }
  })

  it("busy-spin and no-op strategies never park whatever the work count, where backoff does", () => {
    // Every park is an Atomics.wait: count them (without blocking) instead of timing anything.
    const wait = Atomics.wait
    let waits = 0
    Atomics.wait = (() => {
      waits++
      return "timed-out"
    }) as typeof Atomics.wait
    try {
      for (const idle of [new IdleStrategy.BusySpinIdleStrategy(), new IdleStrategy.NoOpIdleStrategy()]) {
        for (let i = 0; i < 1_000; i++) idle.idle(0)
        idle.idle(1)
        idle.reset()
        idle.idle(0)
      }
      assert.strictEqual(waits, 0)
      // The same count sees a backoff strategy park once its spins are used up.
      const backoff = new IdleStrategy.BackoffIdleStrategy(new Doorbell.Doorbell(Doorbell.make()), () => false, {
        spinNs: Infinity,
        maxSpins: 10
      })
      for (let i = 0; i < 11; i++) backoff.idle(0)
      assert.strictEqual(waits, 1)
    } finally {
      Atomics.wait = wait
    }
  })

  it.live("a consumer parked in a worker thread wakes on the next publish", () =>
    Effect.gen(function*() {
      const { handle, view } = seqRing(8)
      const consumer = yield* spawn(fixture("parkedConsumer.ts"), { handle })
      yield* consumer.receive("ready")
      const producer = new OneToOneRing.RingProducer(handle)
      // The worker arms its bell before it waits: armed means parked or about to park, and the
      // protocol must wake it either way. The pause only makes "already inside Atomics.wait" likely.
      while (!producer.consumerBell.isArmed()) yield* Effect.sleep("1 millis")
      yield* Effect.sleep("20 millis")
      assert.isTrue(producer.consumerBell.isArmed(), "still parked: nothing was published")
      assert.strictEqual(producer.claim(1), 1)
      view.fields.seq.set(producer.claimIndex, 42)
      producer.publish(1)
      assert.strictEqual(producer.consumerBell.notifyCount, 1, "the publish found the bell armed and notified")
      const report = yield* consumer.receive<{ type: "record"; seq: number; parkCount: number }>("record")
      assert.strictEqual(report.seq, 42)
      assert.strictEqual(report.parkCount, 1, "it parked once and that park ended with the record")
    }).pipe(within("10 seconds", "the parked consumer never woke")))

  it.live("a busy producer and consumer pair in two threads makes zero notify calls", () =>
    Effect.gen(function*() {
      const { handle } = seqRing(256)
      const count = 200_000
      const consumer = yield* spawn(fixture("seqAgent.ts"), { role: "consumer", handle, count, seed: 7, idle: "busy" })
      const producer = yield* spawn(fixture("seqAgent.ts"), { role: "producer", handle, count, seed: 8, idle: "busy" })
      const sent = yield* producer.receive<Done>("done")
      const received = yield* consumer.receive<Done>("done")
      assert.strictEqual(sent.records, count)
      assert.strictEqual(received.records, count)
      assert.strictEqual(received.errors, 0, received.firstError)
      assert.strictEqual(sent.notifyCount, 0, "publishes never notified the consumer")
      assert.strictEqual(received.notifyCount, 0, "releases never notified the producer")
    }).pipe(within("20 seconds", "the busy pair did not finish")))

  it.live("the doorbell protocol never loses a wake-up across thousands of park/publish rounds", () =>
    Effect.gen(function*() {
      const rounds = 20_000
      const ping = seqRing(4)
      const pong = seqRing(4)
      const common = { rounds, maxDelaySpins: 2_000 }
      const pinger = yield* spawn(fixture("pingPong.ts"), {
        ...common,
        role: "ping",
        inbound: pong.handle,
        outbound: ping.handle,
        seed: 1,
        maxSpins: 0
      })
      const ponger = yield* spawn(fixture("pingPong.ts"), {
        ...common,
        role: "pong",
        inbound: ping.handle,
        outbound: pong.handle,
        seed: 2,
        maxSpins: 20
      })
      const pinged = yield* pinger.receive<Done>("done")
      const ponged = yield* ponger.receive<Done>("done")
      assert.strictEqual(pinged.rounds, rounds)
      assert.strictEqual(ponged.rounds, rounds)
      assert.isAbove(pinged.parkCount, 0, "ping parked")
      assert.isAbove(ponged.parkCount, 0, "pong parked")
      assert.isAbove(pinged.notifyCount + ponged.notifyCount, 0, "wake-ups went through notify")
    }).pipe(within("30 seconds", "a wake-up was lost: both sides parked forever")), 40_000)
})
