/** One contender of `l2Ab.ts` (see there): a pass over the records, and the tops it published. */
import { RecordLayout, type Stage } from "@velox/core"
import { Bbo, L2Update } from "@velox/market"
import { passPlain } from "../micro/l2Updates.ts"

type View = RecordLayout.RecordView<typeof L2Update.L2Update.spec>

export const make = async (name: string, symbols: number, view: View, batch: number) => {
  if (name.startsWith("plain")) {
    // plain-aK / plain-gK: the floor with an early touch (`ahead` K, `group` K). Its own module instance.
    const { PlainL2 } = await import(`../micro/l2Plain.ts?${name}`)
    const touch = /-([ag])(\d+)$/.exec(name)
    const plain = new PlainL2(symbols, batch, touch === null ? {} : { [touch[1] === "a" ? "ahead" : "group"]: Number(touch[2]) })
    return {
      pass: (n: number) => passPlain(plain, view, n),
      written: () => plain.written,
      checksum: () => plain.checksum
    }
  }
  const unsafe = name.startsWith("old") ? await import("./old/Unsafe.ts" as string) : await import("@velox/market/unsafe")
  const logic = unsafe.makeL2BookLogic({
    symbols,
    ...(/-w\d+/.test(name) ? { windowTicks: Number(/-w(\d+)/.exec(name)![1]) } : {}),
    ...(name.includes("-reserved") ? { reserveLadders: true } : {})
  })
  const out = RecordLayout.view(Bbo.Bbo, new ArrayBuffer(batch * Bbo.Bbo.byteLength), 0, batch)
  let pos = 0
  let written = 0
  let checksum = 0
  const emitter = {
    view: out,
    emit: () => {
      written++
      return pos++
    },
    forward: () => {},
    account: () => {},
    drop: () => {
      throw new Error(`${name} dropped an update`)
    },
    deadLetter: () => {
      throw new Error(`${name} refused an update`)
    }
  } as unknown as Stage.Emitter<typeof Bbo.Bbo.spec>
  return {
    pass: (n: number) => {
      for (let i = 0; i < n; i += batch) {
        logic.onBatch(view, i, Math.min(batch, n - i), emitter)
        let h = checksum
        for (let k = 0; k < pos; k++) h = (Math.imul(h, 31) + out.fields.bidPrice.get(k) + out.fields.askPrice.get(k)) | 0
        checksum = h
        pos = 0
      }
    },
    written: () => written,
    checksum: () => checksum
  }
}
