-- posbridge.lua: Wireshark and tshark dissectors for posbridge's pcapng captures.
--
--   tshark -X lua_script:contrib/wireshark/posbridge.lua -r lane.pcapng
--
-- or copy this file into ~/.local/lib/wireshark/plugins/ (`make install` puts it into the
-- system plugin folder). One file for the four link types posbridge writes
-- (docs/CAPTURE.md "Link types"), each registered on the wtap_encap table:
--
--   147 LINKTYPE_USER0  ZVT      framing, DLE unstuffing and CRC here; the APDU goes to
--                                Wireshark's own "zvt" dissector (filter: pbzvt, zvt)
--   148 LINKTYPE_USER1  Concert  (filter: concert)
--   150 LINKTYPE_USER3  PAX POSLink (filter: pax)
--   151 LINKTYPE_USER4  MIS-POS, allinpay profile (filter: mispos)
--
-- Wire facts: docs/PROTOCOLS.md. A packet is one chunk as posbridge read it from the port,
-- not one frame: a frame may be spread over several packets, and one packet may hold
-- several frames and control bytes. Each direction is therefore read as one byte stream,
-- the way `posbridge decode` reads it (protocols/protocol.c, the deframer): same
-- scanners, same 500 ms inter-character timeout, same flush when a port is lost or a
-- packet was cut. A frame is shown, with its fields, in the packet that holds its last
-- byte; the packets with its earlier bytes show them as "held" and name that packet once
-- it is known. X.offset is the frame's offset in its direction's stream, the number
-- `posbridge decode` prints. Limits: docs/CAPTURE.md "Wireshark".
--
-- Card data: posbridge masks captures before they are written. These dissectors add no
-- field for a card number, a track or an expiry date in any case.

-- Loaded twice (a system copy, a personal copy, -X lua_script): the first one serves, the
-- others would only fail to register the same protocols again.
-- (Wireshark gives each script globals of its own; the package table is shared.)
if package.loaded["posbridge.wireshark"] then return end
package.loaded["posbridge.wireshark"] = true

local GAP_US = 500000      -- PB_FRAME_GAP_US (protocols/protocol.h)
local EXPIRE_RESCANS = 64  -- pb_deframer_expire (protocols/protocol.c)

local STX, ETX, EOT, ENQ, ACK, DLE, NAK, FS, US = 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x15, 0x1C, 0x1F

local CONTROL_NAMES = { [ACK] = "ack", [NAK] = "nak", [ENQ] = "enq", [EOT] = "eot" }

local bxor, band, rshift = bit32.bxor, bit32.band, bit32.rshift

-- ---- helpers ------------------------------------------------------------------------------

local function all_digits(s)
    return s:find("^%d*$") ~= nil
end

-- XOR of s[i..j]
local function lrc(s, i, j)
    local x = 0
    for k = i, j do x = bxor(x, s:byte(k)) end
    return x
end

-- Decimal digits as an exact UInt64 (amounts may be longer than a double holds).
local function u64_digits(s)
    local v = UInt64(0)
    for k = 1, #s do v = v * 10 + (s:byte(k) - 0x30) end
    return v
end

-- "5000" -> "50.00": amounts are integers in minor units; 2 decimals for display.
local function money(s)
    s = s:gsub("^0+", "")
    if #s < 3 then s = string.rep("0", 3 - #s) .. s end
    return s:sub(1, -3) .. "." .. s:sub(-2)
end

-- pb_copy_printable: non-printable bytes become '.', at most cap-1 bytes, trailing
-- spaces trimmed.
local function printable(s, cap)
    cap = cap or 24
    s = s:sub(1, cap - 1):gsub("[^\32-\126]", ".")
    return (s:gsub(" +$", ""))
end

-- pb_mask_digit_runs (protocols/msg.c): in a run of 13 or more digits (or '*' of an
-- earlier masking), groups of at most 6 joined across one space or '-', all but the
-- first 6 and last 4 become '*'. Every text field shown goes through it, as every text
-- field of `posbridge decode` does (pb_msg_scrub), so no field shows a card number even
-- in a capture taken with --capture-clear.
local function scrub(s)
    if not s:find("[%d*]") then return s end
    local p, n = { s:byte(1, -1) }, #s
    local function pan(c) return c and ((c >= 0x30 and c <= 0x39) or c == 0x2A) end
    local function group_end(i)
        while i <= n and pan(p[i]) do i = i + 1 end
        return i
    end
    local i = 1
    while i <= n do
        if not pan(p[i]) then
            i = i + 1
        else
            local start = i
            local e = group_end(i)
            local chars = e - start
            while e + 1 <= n and (p[e] == 0x20 or p[e] == 0x2D) and pan(p[e + 1]) do
                local nx = group_end(e + 1)
                if e - i > 6 or nx - (e + 1) > 6 then break end
                i = e + 1
                chars = chars + (nx - i)
                e = nx
            end
            if chars >= 13 then
                local k = 0
                for j = start, e - 1 do
                    if pan(p[j]) then
                        if k >= 6 and k < chars - 4 then p[j] = 0x2A end
                        k = k + 1
                    end
                end
            end
            i = e
        end
    end
    return string.char((table.unpack or unpack)(p))
end

local function bytes_text(n)
    return n == 1 and "1 byte" or n .. " bytes"
end

local DIR_TEXT = { ecr = "register -> terminal", pt = "terminal -> register" }

-- frame.p2p_dir: 1 received (ECR speaks), 0 sent (PT speaks) (docs/CAPTURE.md "Direction").
local function dir_of(pinfo)
    local d = pinfo.p2p_dir
    if d == 1 then return "ecr" elseif d == 0 then return "pt" end
    return "?"
end

local f_comment = Field.new("frame.comment")

-- ---- the deframer -------------------------------------------------------------------------
--
-- One engine per protocol, one stream per direction. A scanner has the contract of
-- pb_scan_fn (protocols/protocol.h) on the string b from index p to index n:
--   returns k > 0 and an item {type = "data" | "control" | "garbage", ...} for k bytes,
--   0 when it needs more bytes, -1 when what starts at p is no frame (skip one byte).
-- st.resume is the scanner's progress inside the frame at p, 0 on a fresh start.

local Engine = {}
Engine.__index = Engine

-- join(e, item), when given, sees every data frame with a good checksum in stream order
-- on the first pass (the pipeline's joiner: lane/pipeline.c) and may set item.joined.
local function new_engine(scan, max_frame, join)
    local e = setmetatable({ scan = scan, max_frame = max_frame, join = join }, Engine)
    e:reset()
    return e
end

function Engine:reset()
    self.streams = {}
    self.packets = {}
    self.joins = {}
end

function Engine:stream(key)
    local s = self.streams[key]
    if not s then
        s = { key = key, held = "", base = 0, fed = 0, last_us = nil, resume = 0, segs = {} }
        self.streams[key] = s
    end
    return s
end

-- Records an item the packet `rec` decided: where its bytes came from, and, for the
-- packets that held them, where they went.
function Engine:add(s, rec, item, how)
    item.how = how
    item.dir = s.key
    local first, last = nil, nil
    for _, seg in ipairs(s.segs) do
        if seg.off < item.offset + item.length and item.offset < seg.off + seg.len then
            first = first or seg.num
            last = seg.num
            if seg.num ~= rec.num then
                local r = self.packets[seg.num]
                if r then
                    r.went = r.went or {}
                    if r.went[#r.went] ~= rec.num then r.went[#r.went + 1] = rec.num end
                end
            end
        end
    end
    item.first_num, item.last_num = first, last
    if self.join and item.type == "data" and item.checksum_ok then self.join(self, item) end
    item.here = rec.start ~= nil and item.offset >= rec.start and
        item.offset + item.length <= rec.start + rec.len
    rec.items[#rec.items + 1] = item
end

-- Gives up the first n held bytes as one garbage item.
function Engine:garbage(s, rec, n, how)
    local item = { type = "garbage", offset = s.base, length = n, wire = s.held:sub(1, n) }
    self:add(s, rec, item, how)
    s.held = s.held:sub(n + 1)
    s.base = s.base + n
    s.resume = 0
end

-- Runs the scanner over the held bytes until it needs more (drain() in protocol.c).
function Engine:drain(s, rec, how)
    local b, p, n = s.held, 1, #s.held
    while p <= n do
        local k, item = self.scan(b, p, n, s)
        if k == 0 then
            if n - p + 1 < self.max_frame then break end
            k = -1 -- wants more than any frame may be: resynchronise
        end
        if k < 0 then
            k, item = 1, { type = "garbage" }
        end
        if k > n - p + 1 then k = n - p + 1 end
        item.offset = s.base + (p - 1)
        item.length = k
        item.wire = b:sub(p, p + k - 1)
        self:add(s, rec, item, how)
        p = p + k
        s.resume = 0
    end
    s.held = b:sub(p)
    s.base = s.base + (p - 1)
end

function Engine:flush(s, rec, how)
    if #s.held > 0 then self:garbage(s, rec, #s.held, how) end
end

-- pb_deframer_expire: after a silence, the frame in progress is broken; what follows its
-- first byte is scanned again.
function Engine:expire(s, rec)
    for _ = 1, EXPIRE_RESCANS do
        if #s.held == 0 then break end
        self:garbage(s, rec, 1, "expired")
        self:drain(s, rec, "expired")
    end
    self:flush(s, rec, "expired")
end

function Engine:prune(s)
    local keep = {}
    for _, seg in ipairs(s.segs) do
        if seg.off + seg.len > s.base then keep[#keep + 1] = seg end
    end
    s.segs = keep
end

-- First pass over one packet: what it decides, in stream order.
function Engine:process(pinfo, bytes)
    local num = pinfo.number
    local key = dir_of(pinfo)
    local rec = { num = num, key = key, items = {} }
    self.packets[num] = rec
    -- A lost port: what was half read from it never completes (pb_pipeline_link).
    local ok, comments = pcall(function() return { f_comment() } end)
    if ok then
        for _, c in ipairs(comments) do
            local text = tostring(c.value)
            local side = text:match("^(%a+) link lost")
            local k = side == "register" and "ecr" or side == "terminal" and "pt" or nil
            if k and self.streams[k] then
                local s = self.streams[k]
                self:flush(s, rec, "link lost")
                self:prune(s)
            end
        end
    end
    if #bytes == 0 then return rec end
    local s = self:stream(key)
    local us = math.floor(pinfo.abs_ts * 1e6 + 0.5)
    if key ~= "?" then
        -- pb_deframer_feed_at: a frame whose bytes stopped for more than 500 ms is broken.
        if #s.held > 0 and s.last_us and us - s.last_us > GAP_US then self:expire(s, rec) end
        s.last_us = us
    end
    rec.start, rec.len = s.fed, #bytes
    s.fed = s.fed + #bytes
    s.segs[#s.segs + 1] = { off = rec.start, len = #bytes, num = num }
    s.held = s.held .. bytes
    self:drain(s, rec, nil)
    if pinfo.caplen < pinfo.len then
        self:flush(s, rec, "cut packet") -- no frame can span the bytes the capture lost
    end
    if #s.held > 0 then rec.tail = math.max(s.base, rec.start) end
    self:prune(s)
    return rec
end

function Engine:record(tvb, pinfo)
    local rec = self.packets[pinfo.number]
    if not rec then
        local bytes = tvb:len() > 0 and tvb:raw(0, tvb:captured_len()) or ""
        rec = self:process(pinfo, bytes)
    end
    return rec
end

-- ---- shared tree building -----------------------------------------------------------------

local function common_fields(abbr)
    return {
        direction = ProtoField.string(abbr .. ".direction", "Direction", base.ASCII,
            "ecr: the register speaks; pt: the terminal speaks"),
        kind = ProtoField.string(abbr .. ".kind", "Frame type", base.ASCII,
            "as `posbridge decode` names it: request, result, ack, nak, garbage, ..."),
        offset = ProtoField.uint32(abbr .. ".offset", "Stream offset", base.DEC, nil, nil,
            "offset of the first byte in this direction's byte stream"),
        length = ProtoField.uint32(abbr .. ".length", "Length on the wire", base.DEC),
        first = ProtoField.framenum(abbr .. ".first_packet", "First byte in packet", base.NONE, nil, nil,
            "the frame began in an earlier packet and was put together here"),
        given_up = ProtoField.string(abbr .. ".given_up", "Given up", base.ASCII,
            "bytes that never became a frame: silence over 500 ms, a lost port, a cut packet"),
        held = ProtoField.bytes(abbr .. ".held", "Held bytes", base.NONE,
            "bytes of a frame that ends in a later packet"),
        held_offset = ProtoField.uint32(abbr .. ".held_offset", "Stream offset of the held bytes", base.DEC),
        continued_in = ProtoField.framenum(abbr .. ".continued_in", "Continued in packet", base.NONE, nil, nil,
            "the packet where the held bytes were decided"),
        garbage = ProtoField.bytes(abbr .. ".garbage", "Garbage", base.NONE,
            "bytes outside any frame (line noise, broken frames; masked by posbridge)"),
        control = ProtoField.uint8(abbr .. ".control", "Control byte", base.HEX,
            { [ACK] = "ACK", [NAK] = "NAK", [ENQ] = "ENQ", [EOT] = "EOT" }),
    }
end

local function add_fields(proto, f, extra)
    local list = {}
    for _, v in pairs(f) do list[#list + 1] = v end
    for _, v in pairs(extra or {}) do list[#list + 1] = v end
    proto.fields = list
end

-- The tvb holding an item's wire bytes: the packet's own bytes when the item lies in it,
-- else a new data source of its bytes (a frame put together from several packets).
local function item_tvb(tvb, rec, item, what)
    if item.here then
        return tvb(item.offset - rec.start, item.length):tvb()
    end
    return ByteArray.new(item.wire, true):tvb(what)
end

-- The top item of one frame and its place in the streams.
local function frame_tree(proto, f, tree, t, item, label)
    local sub = tree:add(proto, t(), label)
    local it = sub:add(f.direction, item.dir)
    it:append_text(" (" .. (DIR_TEXT[item.dir] or "direction not recorded") .. ")")
    it:set_generated()
    sub:add(f.offset, item.offset):set_generated()
    sub:add(f.length, item.length):set_generated()
    if not item.here and item.first_num then
        sub:add(f.first, item.first_num):set_generated()
    end
    if item.how then sub:add(f.given_up, item.how):set_generated() end
    return sub
end

-- Held bytes at the end of the packet: part of a frame that ends later.
local function held_tree(proto, f, tree, tvb, rec, name)
    if not rec.tail then return end
    local from = rec.tail - rec.start
    local sub = tree:add(proto, tvb(from, rec.len - from),
        name .. ": held, " .. bytes_text(rec.len - from) .. " not complete at the end of this packet")
    sub:add(f.held_offset, rec.tail):set_generated()
    sub:add(f.held, tvb(from, rec.len - from))
    for _, n in ipairs(rec.went or {}) do
        sub:add(f.continued_in, n):set_generated()
    end
end

-- Common part of every protocol's dissector function.
local function dissect_stream(engine, name, proto, f, render)
    return function(tvb, pinfo, tree)
        pinfo.cols.protocol:set(name)
        local rec = engine:record(tvb, pinfo)
        if rec.key == "ecr" then
            pinfo.cols.src:set("ECR"); pinfo.cols.dst:set("PT")
        elseif rec.key == "pt" then
            pinfo.cols.src:set("PT"); pinfo.cols.dst:set("ECR")
        end
        local info = {}
        for _, item in ipairs(rec.items) do
            local t = item_tvb(tvb, rec, item, name .. " frame")
            local s = render(tree, t, item, pinfo)
            if s then info[#info + 1] = s end
        end
        if rec.tail then info[#info + 1] = "[held: frame continues]" end
        held_tree(proto, f, tree, tvb, rec, name)
        if #info > 0 then pinfo.cols.info:set(table.concat(info, ", ")) end
        return tvb:len()
    end
end

local function render_simple(proto, f, name, tree, t, item, expert_garbage)
    if item.type == "control" then
        local kind = CONTROL_NAMES[item.control] or "other"
        local sub = frame_tree(proto, f, tree, t, item, name .. ": " .. kind:upper())
        sub:add(f.kind, kind):set_generated()
        sub:add(f.control, t(0, 1))
        return kind:upper()
    end
    local sub = frame_tree(proto, f, tree, t, item, name .. ": garbage, " .. bytes_text(item.length))
    sub:add(f.kind, "garbage"):set_generated()
    sub:add(f.garbage, t())
    sub:add_proto_expert_info(expert_garbage)
    return "garbage (" .. bytes_text(item.length) .. ")"
end

-- A run of bytes that cannot start a frame, or one control byte (pb_scan_outside_stx).
local function scan_outside_stx(b, p, n, controls)
    local c = b:byte(p)
    if controls[c] then return 1, { type = "control", control = c } end
    local q = p + 1
    while q <= n do
        local x = b:byte(q)
        if x == STX or controls[x] then break end
        q = q + 1
    end
    return q - p, { type = "garbage" }
end

-- STX payload ETX LRC, LRC = XOR after STX through ETX, no stuffing (Concert, PAX).
local function scan_stx_etx(b, p, n, st, is_data, max_payload, controls)
    if b:byte(p) ~= STX then return scan_outside_stx(b, p, n, controls) end
    local avail = n - p + 1
    local i = st.resume > 1 and st.resume or 1
    while i < avail do
        local x = b:byte(p + i)
        if x == ETX then break end
        if not is_data(x) then return -1 end -- a new STX: this one was a false start
        if i > max_payload then return -1 end
        i = i + 1
    end
    st.resume = i
    if i + 1 >= avail then return 0 end -- need the ETX, or the LRC after it
    local want = lrc(b, p + 1, p + i)
    local got = b:byte(p + i + 1)
    return i + 2, { type = "data", payload = b:sub(p + 1, p + i - 1),
        lrc = got, lrc_calc = want, checksum_ok = want == got }
end

local function checksum_tree(f, sub, t, item, expert_bad)
    local it = sub:add(f.lrc, t(item.length - 1, 1))
    if item.checksum_ok then
        it:append_text(" [correct]")
    else
        it:append_text(string.format(" [incorrect, should be 0x%02x]", item.lrc_calc))
        it:add_proto_expert_info(expert_bad)
    end
    sub:add(f.lrc_calc, item.lrc_calc):set_generated()
    sub:add(f.checksum_ok, item.checksum_ok):set_generated()
end

-- The experts every dissector registers: a bad checksum, bytes outside any frame and,
-- when `malformed` names what is wrong, malformed frame contents. Returns them in that order.
local function experts(proto, abbr, name, check, malformed)
    local bad = ProtoExpert.new(abbr .. ".checksum_bad", name .. ": " .. check .. " mismatch",
        expert.group.CHECKSUM, expert.severity.WARN)
    local garbage = ProtoExpert.new(abbr .. ".garbage.expert", name .. ": bytes outside any frame",
        expert.group.SEQUENCE, expert.severity.NOTE)
    local bad_data = malformed and ProtoExpert.new(abbr .. ".malformed", name .. ": " .. malformed,
        expert.group.MALFORMED, expert.severity.WARN)
    proto.experts = { bad, garbage, bad_data }
    return bad, garbage, bad_data
end

local function lrc_fields(abbr)
    return {
        lrc = ProtoField.uint8(abbr .. ".lrc", "LRC", base.HEX),
        lrc_calc = ProtoField.uint8(abbr .. ".lrc.computed", "LRC computed", base.HEX),
        checksum_ok = ProtoField.bool(abbr .. ".checksum_ok", "Checksum good"),
    }
end

local function merge(a, b)
    for k, v in pairs(b) do a[k] = v end
    return a
end

-- ==== Concert (link type 148): docs/PROTOCOLS.md section 1 ==================================

local concert = Proto("concert", "Ingenico Concert (posbridge capture)")
local cf = merge(common_fields("concert"), lrc_fields("concert"))
local cx = {
    pos = ProtoField.string("concert.pos", "POS number"),
    amount = ProtoField.uint64("concert.amount", "Amount", base.DEC, nil, nil,
        "minor units: requested (request) or charged (answer)"),
    answer_flag = ProtoField.string("concert.answer_flag", "Answer flag"),
    mode = ProtoField.string("concert.mode", "Payment mode"),
    txn_type = ProtoField.string("concert.txn_type", "Transaction type"),
    currency = ProtoField.uint16("concert.currency", "Currency (ISO 4217)"),
    private = ProtoField.string("concert.private", "Private field (reference)"),
    delay = ProtoField.string("concert.delay", "Delay"),
    auth = ProtoField.string("concert.auth", "Authorisation"),
    status = ProtoField.string("concert.status", "Status", base.ASCII, "0 approved, 7 rejected, 9 not processed"),
    result = ProtoField.string("concert.result", "Result"),
    format = ProtoField.string("concert.format", "Answer format"),
    report = ProtoField.none("concert.report", "Report (card data: not decoded)"),
    note = ProtoField.string("concert.note", "Note"),
}
add_fields(concert, cf, cx)
local ce_bad, ce_garbage, ce_malformed = experts(concert, "concert", "Concert", "LRC", "field not digits")

local CONCERT_CONTROLS = { [ENQ] = true, [ACK] = true, [NAK] = true, [EOT] = true }
local CONCERT_TYPES = { ["0"] = "purchase", ["1"] = "refund", ["2"] = "void" }
local CONCERT_STATUS = { ["0"] = "approved", ["7"] = "declined", ["9"] = "not_processed" }

local function concert_scan(b, p, n, st)
    return scan_stx_etx(b, p, n, st, function(c) return c >= 0x20 and c <= 0x7F end, 1024,
        CONCERT_CONTROLS)
end

local concert_engine = new_engine(concert_scan, 1 + 1024 + 2)

-- Field at 1-based position `at`, `len` bytes of the payload (payload starts at wire 1).
local function concert_field(sub, t, field, pl, at, len, value)
    return sub:add(field, t(at, len), value or scrub(pl:sub(at, at + len - 1)))
end

local function concert_render(tree, t, item, pinfo)
    if item.type ~= "data" then
        return render_simple(concert, cf, "Concert", tree, t, item, ce_garbage)
    end
    local pl, n = item.payload, #item.payload
    local expect = n == 34 and "ecr" or (n == 25 or n == 80) and "pt" or nil
    local kind, summary = "other", nil
    local sub = frame_tree(concert, cf, tree, t, item, "Concert")
    if not expect then
        sub:add(cx.note, "unknown " .. n .. "-byte frame"):set_generated()
        summary = "frame of " .. n .. " bytes"
    elseif expect ~= item.dir and item.dir ~= "?" then
        sub:add(cx.note, "unexpected " .. n .. "-byte " .. (expect == "ecr" and "request" or "answer") ..
            " from " .. item.dir):set_generated()
        summary = "unexpected " .. (expect == "ecr" and "request" or "answer")
    else
        local amount_at, currency_at, private_at
        if expect == "ecr" then
            concert_field(sub, t, cx.pos, pl, 1, 2)
            amount_at = 3
            concert_field(sub, t, cx.answer_flag, pl, 11, 1)
            concert_field(sub, t, cx.mode, pl, 12, 1)
            local tc = pl:sub(13, 13)
            concert_field(sub, t, cx.txn_type, pl, 13, 1, CONCERT_TYPES[tc] or "other")
                :append_text(" ('" .. tc .. "')")
            currency_at, private_at = 14, 17
            concert_field(sub, t, cx.delay, pl, 27, 4)
            concert_field(sub, t, cx.auth, pl, 31, 4)
            summary = "Request POS " .. pl:sub(1, 2) .. " " .. (CONCERT_TYPES[tc] or "type " .. tc)
        else
            local full = n == 80
            concert_field(sub, t, cx.pos, pl, 1, 2)
            local sc = pl:sub(3, 3)
            concert_field(sub, t, cx.status, pl, 3, 1)
            local res = CONCERT_STATUS[sc] or "unknown"
            concert_field(sub, t, cx.result, pl, 3, 1, res)
            amount_at = 4
            concert_field(sub, t, cx.mode, pl, 12, 1)
            sub:add(cx.format, full and "full" or "short"):set_generated()
            if full then sub:add(cx.report, t(13, 55)) end
            currency_at = full and 68 or 13
            private_at = full and 71 or 16
            summary = "Answer POS " .. pl:sub(1, 2) .. " " .. res
        end
        local a, c = pl:sub(amount_at, amount_at + 7), pl:sub(currency_at, currency_at + 2)
        local a_ok = all_digits(a)
        local c_ok = all_digits(c)
        if a_ok then
            concert_field(sub, t, cx.amount, pl, amount_at, 8, u64_digits(a)):append_text(" (" .. money(a) .. ")")
            summary = summary .. " " .. money(a)
        end
        if c_ok then
            concert_field(sub, t, cx.currency, pl, currency_at, 3, tonumber(c))
            summary = summary .. " " .. c
        end
        concert_field(sub, t, cx.private, pl, private_at, 10)
        if a_ok and c_ok then
            kind = expect == "ecr" and "request" or "result"
        else
            sub:add_proto_expert_info(ce_malformed, (a_ok and "currency" or "amount") .. " not digits")
        end
    end
    sub:add(cf.kind, kind):set_generated()
    sub:append_text(", " .. kind .. ": " .. summary)
    checksum_tree(cf, sub, t, item, ce_bad)
    if not item.checksum_ok then summary = summary .. " [bad LRC]" end
    return summary
end

concert.dissector = dissect_stream(concert_engine, "Concert", concert, cf, concert_render)
concert.init = function() concert_engine:reset() end

-- ==== PAX POSLink (link type 150): docs/PROTOCOLS.md section 3 ==============================

local pax = Proto("pax", "PAX POSLink (posbridge capture)")
local pf = merge(common_fields("pax"), lrc_fields("pax"))
local px = {
    command = ProtoField.string("pax.command", "Command"),
    status = ProtoField.string("pax.status", "Status"),
    version = ProtoField.string("pax.version", "Version"),
    type = ProtoField.string("pax.type", "Transaction type code"),
    txn_type = ProtoField.string("pax.txn_type", "Transaction type"),
    amount = ProtoField.uint64("pax.amount", "Amount", base.DEC, nil, nil,
        "minor units: requested (T00) or approved (T01)"),
    amount_due = ProtoField.uint64("pax.amount_due", "Amount due", base.DEC, nil, nil,
        "still owed after a partial approval"),
    result_code = ProtoField.string("pax.result_code", "Response code"),
    result = ProtoField.string("pax.result", "Result"),
    message = ProtoField.string("pax.message", "Message"),
    auth_code = ProtoField.string("pax.auth_code", "Auth code"),
    host_trace = ProtoField.string("pax.host_trace", "Host trace number"),
    reference = ProtoField.string("pax.reference", "Reference number"),
    receipt = ProtoField.string("pax.receipt", "Transaction number", base.ASCII,
        "T01: the terminal's transaction number; T00: the original one a void names"),
    note = ProtoField.string("pax.note", "Note"),
}
add_fields(pax, pf, px)
local pe_bad, pe_garbage, pe_malformed = experts(pax, "pax", "PAX", "LRC", "amount not digits")

local PAX_CONTROLS = { [ACK] = true, [NAK] = true, [EOT] = true }
local PAX_TYPES = { ["01"] = "purchase", ["02"] = "refund", ["03"] = "preauth", ["16"] = "void", ["99"] = "void" }
local PAX_CODES = { ["000000"] = "approved", ["000100"] = "declined", ["100011"] = "declined",
    ["100001"] = "not_processed", ["100002"] = "aborted" }

local function pax_scan(b, p, n, st)
    return scan_stx_etx(b, p, n, st,
        function(c) return (c >= FS and c <= US) or (c >= 0x20 and c <= 0x7F) end, 4096, PAX_CONTROLS)
end

-- pb_pax_join (protocols/pax.c, docs/PROTOCOLS.md 3.5): a multi-packet message is
-- "status FS body" packets; while the status is 1 more follow, the bodies are appended as
-- they are and the whole read as "0 FS bodies" when the last one comes. One joiner per
-- direction; a frame that is no packet resets it, a repeated packet is held once.
local PAX_JOIN_MAX = 65535
local function pax_join(e, item)
    local j = e.joins[item.dir] or {}
    e.joins[item.dir] = j
    local status, body = item.payload:match("^(%d%d?)\28(.*)$")
    if not status then
        e.joins[item.dir] = {}
        return
    end
    local more = status == "1"
    if not j.whole and not more then return end
    if not j.whole then
        j.whole, j.last, j.packets = "0\28", "", 0
    elseif more and #j.last > 0 and body == j.last then
        return -- the same packet again (its ACK was lost)
    end
    if #j.whole + #body > PAX_JOIN_MAX then
        e.joins[item.dir] = {}
        return
    end
    j.whole, j.last, j.packets = j.whole .. body, body, j.packets + 1
    if not more then
        item.joined, item.packets = j.whole, j.packets
        e.joins[item.dir] = {}
    end
end

local pax_engine = new_engine(pax_scan, 1 + 4096 + 2, pax_join)

-- Fields split at FS (at most 32, the last keeps the rest), each {o = 0-based offset in
-- the payload, s = text}.
local function pax_split(s, base_off, sep, max)
    local out, start = {}, 1
    for i = 1, #s do
        if #out + 1 >= max then break end
        if s:byte(i) == sep then
            out[#out + 1] = { o = base_off + start - 1, s = s:sub(start, i - 1) }
            start = i + 1
        end
    end
    out[#out + 1] = { o = base_off + start - 1, s = s:sub(start) }
    return out
end

local function pax_sub(group, idx)
    if not group then return { o = 0, s = "" } end
    local subs = pax_split(group.s, group.o, US, 1e9)
    return subs[idx + 1] or { o = group.o, s = "" }
end

local function is_command(s)
    return #s == 3 and s:find("^%u%d%d$") ~= nil
end

-- An amount sub-field: nil absent, false malformed, else the digits.
local function pax_amount(s)
    if #s == 0 then return nil end
    if #s > 15 or not all_digits(s) then return false end
    return s
end

local function pax_add(sub, t, field, span, value)
    if not span or (#span.s == 0 and value == nil) then return nil end
    return sub:add(field, t(1 + span.o, #span.s), value or scrub(span.s))
end

local function pax_render(tree, t, item, pinfo)
    if item.type ~= "data" then
        return render_simple(pax, pf, "PAX", tree, t, item, pe_garbage)
    end
    local sub = frame_tree(pax, pf, tree, t, item, "PAX")
    local frame_t, pl = t, item.payload
    if item.joined then
        -- The last packet of a multi-packet message: the fields are read from the whole.
        pl = item.joined
        t = ByteArray.new("\2" .. pl, true):tvb("PAX message joined from " .. item.packets .. " packets")
        sub:add(px.note, "last of " .. item.packets .. " packets; the message joined"):set_generated()
    end
    local f = pax_split(pl, 0, FS, 32)
    local nf = #f
    local expect, cmd
    local status = nf >= 2 and #f[1].s >= 1 and #f[1].s <= 2 and all_digits(f[1].s)
    if nf >= 2 and is_command(f[1].s) then
        expect, cmd = "ecr", f[1]
    elseif status and is_command(f[2].s) then
        expect, cmd = "pt", f[2]
    end
    -- A packet with more to follow may stop inside its last field: that field is not read.
    local more = status and f[1].s == "1"
    if more and nf > 2 then
        f[nf] = nil
        nf = nf - 1
    end
    local kind, summary = "other", nil
    if not expect and status and (more or f[1].s == "0") then
        sub:add(px.note, "packet status=" .. f[1].s .. ", " .. #pl .. " bytes"):set_generated()
        summary = "multi-packet message, packet with status " .. f[1].s
            .. (more and " (more follow)" or " (the last)")
    elseif not expect then
        sub:add(px.note, "unknown " .. #pl .. "-byte frame"):set_generated()
        summary = "frame of " .. #pl .. " bytes"
    else
        pax_add(sub, t, px.command, cmd)
        if expect ~= item.dir and item.dir ~= "?" then
            sub:add(px.note, "unexpected " .. cmd.s .. " from " .. item.dir):set_generated()
            summary = "unexpected " .. cmd.s
        elseif expect == "ecr" and cmd.s == "T00" then
            pax_add(sub, t, px.version, f[2])
            local ty = f[3] or { o = 0, s = "" }
            pax_add(sub, t, px.type, ty)
            local txn = #ty.s > 0 and (PAX_TYPES[ty.s] or "other") or nil
            if txn then sub:add(px.txn_type, txn):set_generated() end
            local trace = f[6]
            pax_add(sub, t, px.reference, pax_sub(trace, 0))
            pax_add(sub, t, px.auth_code, pax_sub(trace, 2))
            pax_add(sub, t, px.receipt, pax_sub(trace, 3))
            local as = pax_sub(f[4], 0)
            local a = pax_amount(as.s)
            summary = "T00 " .. (txn or "")
            if a == false then
                sub:add_proto_expert_info(pe_malformed)
            else
                if a then
                    pax_add(sub, t, px.amount, as, u64_digits(a)):append_text(" (" .. money(a) .. ")")
                    summary = summary .. " " .. money(a)
                end
                kind = "request"
            end
            local rs = pax_sub(trace, 0).s
            if #rs > 0 then summary = summary .. " ref " .. rs end
        elseif expect == "pt" and cmd.s == "T01" then
            pax_add(sub, t, px.status, f[1])
            pax_add(sub, t, px.version, f[3])
            local code = f[4] or { o = 0, s = "" }
            local ct = printable(code.s)
            local res = "unknown"
            if #ct == 6 and all_digits(ct) then
                res = PAX_CODES[ct] or (ct:sub(1, 1) == "1" and "not_processed" or "unknown")
            end
            pax_add(sub, t, px.result_code, code)
            sub:add(px.result, res):set_generated()
            pax_add(sub, t, px.message, f[5] or { o = 0, s = "" })
            local host, ty, amounts, trace = f[6], f[7] or { o = 0, s = "" }, f[8], f[10]
            pax_add(sub, t, px.auth_code, pax_sub(host, 2))
            pax_add(sub, t, px.host_trace, pax_sub(host, 4))
            pax_add(sub, t, px.type, ty)
            local txn = #ty.s > 0 and (PAX_TYPES[ty.s] or "other") or nil
            if txn then sub:add(px.txn_type, txn):set_generated() end
            pax_add(sub, t, px.receipt, pax_sub(trace, 0))
            pax_add(sub, t, px.reference, pax_sub(trace, 1))
            local as, ds = pax_sub(amounts, 0), pax_sub(amounts, 1)
            local a, d = pax_amount(as.s), pax_amount(ds.s)
            summary = "T01 " .. res .. " (" .. ct .. ")"
            if a == false or d == false then
                sub:add_proto_expert_info(pe_malformed)
            else
                if a then
                    pax_add(sub, t, px.amount, as, u64_digits(a)):append_text(" (" .. money(a) .. ")")
                    summary = summary .. " " .. money(a)
                end
                if d and u64_digits(d) > UInt64(0) then
                    pax_add(sub, t, px.amount_due, ds, u64_digits(d)):append_text(" (" .. money(d) .. ")")
                    summary = summary .. ", due " .. money(d)
                end
                kind = more and "intermediate" or "result"
            end
            if more then summary = summary .. " [more follow]" end
        else
            sub:add(px.note, "command " .. cmd.s):set_generated()
            summary = cmd.s
        end
    end
    sub:add(pf.kind, kind):set_generated()
    sub:append_text(", " .. kind .. ": " .. summary)
    checksum_tree(pf, sub, frame_t, item, pe_bad)
    if not item.checksum_ok then summary = summary .. " [bad LRC]" end
    return summary
end

pax.dissector = dissect_stream(pax_engine, "PAX", pax, pf, pax_render)
pax.init = function() pax_engine:reset() end

-- ==== MIS-POS, allinpay profile (link type 151): docs/PROTOCOLS.md section 4 =================

local mispos = Proto("mispos", "MIS-POS allinpay (posbridge capture)")
local mf = merge(common_fields("mispos"), lrc_fields("mispos"))
local MISPOS_TAGS = {
    [0x9F00] = "application", [0x9F01] = "transaction type", [0x9F02] = "amount",
    [0x9F1F] = "POS number", [0x9F20] = "original trace", [0x9F14] = "result",
    [0x9F05] = "terminal id", [0x9F0B] = "card number", [0x9F0E] = "trace",
    [0x9F0F] = "auth code",
}
local mx = {
    len = ProtoField.uint16("mispos.len", "LEN (BCD)", base.DEC),
    tlv = ProtoField.none("mispos.tlv", "TLV"),
    tag = ProtoField.uint16("mispos.tag", "Tag", base.HEX, MISPOS_TAGS),
    tlv_len = ProtoField.uint16("mispos.tlv_len", "Value length", base.DEC),
    app = ProtoField.string("mispos.app", "Application"),
    type = ProtoField.uint8("mispos.type", "Transaction type code", base.DEC),
    txn_type = ProtoField.string("mispos.txn_type", "Transaction type"),
    amount = ProtoField.uint64("mispos.amount", "Amount", base.DEC, nil, nil, "fen (minor units)"),
    pos = ProtoField.string("mispos.pos", "POS number"),
    orig_trace = ProtoField.string("mispos.orig_trace", "Original trace"),
    result_code = ProtoField.string("mispos.result_code", "Result code"),
    result = ProtoField.string("mispos.result", "Result"),
    terminal = ProtoField.string("mispos.terminal", "Terminal id"),
    trace = ProtoField.string("mispos.trace", "Trace number"),
    auth_code = ProtoField.string("mispos.auth_code", "Auth code"),
    card = ProtoField.none("mispos.card", "Card number (card data: not shown)"),
    value = ProtoField.string("mispos.value", "Value", base.ASCII,
        "of a tag this dissector does not know; non-printable bytes as '.'"),
    note = ProtoField.string("mispos.note", "Note"),
}
add_fields(mispos, mf, mx)
local me_bad, me_garbage, me_malformed = experts(mispos, "mispos", "MIS-POS", "LRC", "malformed TLV data")

local MISPOS_CONTROLS = { [ACK] = true, [NAK] = true }
local MISPOS_TYPES = { [2] = "purchase", [3] = "void", [4] = "refund", [6] = "preauth", [15] = "status" }

-- BCD LEN; nil when a nibble is over 9.
local function bcd_len(b, p)
    local v = 0
    for k = 0, 1 do
        local x = b:byte(p + k)
        local hi, lo = rshift(x, 4), band(x, 15)
        if hi > 9 or lo > 9 then return nil end
        v = v * 100 + hi * 10 + lo
    end
    return v
end

local function mispos_scan(b, p, n, st)
    if b:byte(p) ~= STX then return scan_outside_stx(b, p, n, MISPOS_CONTROLS) end
    local avail = n - p + 1
    if avail < 3 then return 0 end
    local l = bcd_len(b, p + 1)
    if not l or l > 9999 then return -1 end -- no LEN: this STX was data or noise
    if avail < l + 5 then return 0 end
    if b:byte(p + 3 + l) ~= ETX then return -1 end -- LEN lies: resynchronise
    local want = lrc(b, p + 1, p + 3 + l) -- allinpay: LEN through ETX
    local got = b:byte(p + 4 + l)
    return l + 5, { type = "data", payload = b:sub(p + 3, p + 2 + l), datalen = l,
        lrc = got, lrc_calc = want, checksum_ok = want == got }
end

local mispos_engine = new_engine(mispos_scan, 5 + 9999)

local function mispos_render(tree, t, item, pinfo)
    if item.type ~= "data" then
        return render_simple(mispos, mf, "MIS-POS", tree, t, item, me_garbage)
    end
    local pl, n = item.payload, #item.payload
    local sub = frame_tree(mispos, mf, tree, t, item, "MIS-POS")
    sub:add(mx.len, t(1, 2), item.datalen)
    local has_type, has_result, stop = false, false, nil
    local txn, amount, result_text, pos = nil, nil, nil, nil
    local i = 1
    while i <= n do
        if n - i + 1 < 4 then
            stop = "TLV at byte " .. (i - 1) .. " runs past the data"
            break
        end
        local tag = pl:byte(i) * 256 + pl:byte(i + 1)
        local len = pl:byte(i + 2) * 256 + pl:byte(i + 3)
        if len > n - (i + 3) then
            stop = "TLV at byte " .. (i - 1) .. " runs past the data"
            break
        end
        local vo = i + 6 -- wire offset of the value (payload byte 1 is wire byte 3)
        local v = pl:sub(i + 4, i + 3 + len)
        local tt = sub:add(mx.tlv, t(2 + i, 4 + len))
        tt:set_text(string.format("TLV %04X (%s), %s", tag, MISPOS_TAGS[tag] or "unknown", bytes_text(len)))
        tt:add(mx.tag, t(2 + i, 2))
        tt:add(mx.tlv_len, t(4 + i, 2))
        local vr = len > 0 and t(vo, len) or nil
        local function add_str(field)
            if vr then tt:add(field, vr, scrub(printable(v, #v + 1))) else tt:add(field, "") end
        end
        if tag == 0x9F01 then
            if len ~= 1 then
                stop = string.format("type not 1 byte in %04X", tag)
                break
            end
            has_type = true
            txn = MISPOS_TYPES[v:byte(1)] or "other"
            tt:add(mx.type, vr)
            tt:add(mx.txn_type, vr, txn)
        elseif tag == 0x9F02 then
            if len < 1 or len > 18 or not all_digits(v) then
                stop = string.format("amount not digits in %04X", tag)
                break
            end
            amount = v
            tt:add(mx.amount, vr, u64_digits(v)):append_text(" (" .. money(v) .. ")")
        elseif tag == 0x9F14 then
            has_result = true
            result_text = printable(v)
            add_str(mx.result_code)
        elseif tag == 0x9F1F then
            pos = printable(v)
            add_str(mx.pos)
        elseif tag == 0x9F20 then
            add_str(mx.orig_trace)
        elseif tag == 0x9F05 then
            add_str(mx.terminal)
        elseif tag == 0x9F0E then
            add_str(mx.trace)
        elseif tag == 0x9F0F then
            add_str(mx.auth_code)
        elseif tag == 0x9F0B then
            if vr then tt:add(mx.card, vr) end -- card data: no value shown
        elseif tag == 0x9F00 then
            add_str(mx.app)
        elseif vr then
            tt:add(mx.value, vr, scrub(printable(v, #v + 1)))
        end
        i = i + 4 + len
    end
    local kind, summary = "other", nil
    local expect = has_result and "pt" or has_type and "ecr" or nil
    if stop then
        sub:add(mx.note, stop):set_generated()
        sub:add_proto_expert_info(me_malformed, stop)
        summary = "malformed"
    elseif not expect then
        summary = "frame of " .. n .. " bytes"
    elseif expect ~= item.dir and item.dir ~= "?" then
        sub:add(mx.note, expect == "pt" and "result from ecr" or "request from pt"):set_generated()
        summary = expect == "pt" and "result from ecr" or "request from pt"
    elseif expect == "ecr" then
        kind = "request"
        summary = "Request " .. (txn or "")
    else
        kind = "result"
        local res = #result_text == 0 and "unknown" or result_text == "00" and "approved" or "declined"
        sub:add(mx.result, res):set_generated()
        summary = "Result " .. res .. " (" .. result_text .. ")"
    end
    if amount then summary = summary .. " " .. money(amount) end
    if pos then summary = summary .. " POS " .. pos end
    sub:add(mf.kind, kind):set_generated()
    sub:append_text(", " .. kind .. ": " .. summary)
    checksum_tree(mf, sub, t, item, me_bad)
    if not item.checksum_ok then summary = summary .. " [bad LRC]" end
    return summary
end

mispos.dissector = dissect_stream(mispos_engine, "MIS-POS", mispos, mf, mispos_render)
mispos.init = function() mispos_engine:reset() end

-- ==== ZVT (link type 147): docs/PROTOCOLS.md section 2 ======================================
--
-- Wireshark's own zvt dissector reads a serial frame (DLE STX APDU DLE ETX CRC) but
-- neither undoes the DLE doubling nor checks the CRC nor puts together a frame spread
-- over packets. This part does those three and hands it each frame, unstuffed.

local pbzvt = Proto("pbzvt", "ZVT line (posbridge capture)")
local zf = common_fields("pbzvt")
local zx = {
    crc = ProtoField.uint16("pbzvt.crc", "CRC", base.HEX),
    crc_calc = ProtoField.uint16("pbzvt.crc.computed", "CRC computed", base.HEX),
    checksum_ok = ProtoField.bool("pbzvt.checksum_ok", "Checksum good"),
    doubled = ProtoField.uint32("pbzvt.doubled_dle", "Doubled DLE bytes", base.DEC),
    note = ProtoField.string("pbzvt.note", "Note"),
}
add_fields(pbzvt, zf, zx)
local ze_bad, ze_garbage = experts(pbzvt, "pbzvt", "ZVT", "CRC")

local ZVT_APDU_MAX = 5 + 65535
local ZVT_BODY_WIRE_MAX = 2 * ZVT_APDU_MAX

-- CRC-16/KERMIT, bitwise (frames are short; docs/PROTOCOLS.md 2.1).
local function crc16_kermit(crc, s)
    for k = 1, #s do
        crc = bxor(crc, s:byte(k))
        for _ = 1, 8 do
            if band(crc, 1) ~= 0 then crc = bxor(rshift(crc, 1), 0x8408) else crc = rshift(crc, 1) end
        end
    end
    return crc
end

-- A frame that turned out broken ends as garbage at the next DLE STX, else at `stop`
-- (broken_frame in protocols/zvt.c). Indices are 0-based from the frame start.
local function zvt_broken(b, p, n, stop)
    local avail = n - p + 1
    local j = 2
    while j < stop and not (j + 1 < avail and b:byte(p + j) == DLE and b:byte(p + j + 1) == STX) do
        j = j + 1
    end
    return j, { type = "garbage" }
end

local function zvt_scan(b, p, n, st)
    local avail = n - p + 1
    local c = b:byte(p)
    if c == ACK or c == NAK then return 1, { type = "control", control = c } end
    if c ~= DLE then
        local q = 1
        while q < avail do
            local x = b:byte(p + q)
            if x == DLE or x == ACK or x == NAK then break end
            q = q + 1
        end
        return q, { type = "garbage" }
    end
    if avail < 2 then return 0 end
    if b:byte(p + 1) ~= STX then return 1, { type = "garbage" } end
    local i = (st.resume >= 2 and st.resume <= avail) and st.resume or 2
    while true do
        if i - 2 > ZVT_BODY_WIRE_MAX then return zvt_broken(b, p, n, i) end
        if i >= avail then
            st.resume = i
            return 0
        end
        if b:byte(p + i) ~= DLE then
            local lim = 2 + ZVT_BODY_WIRE_MAX + 1
            local e = avail < lim and avail or lim
            local d = i < e and b:find("\16", p + i, true) or nil
            if d and d - p < e then i = d - p else i = e end
        else
            if i + 1 >= avail then
                st.resume = i
                return 0
            end
            local x = b:byte(p + i + 1)
            if x == DLE then
                i = i + 2
            elseif x == ETX then
                break
            else
                return zvt_broken(b, p, n, i)
            end
        end
    end
    local etx = i
    if etx + 4 > avail then
        st.resume = etx
        return 0
    end
    local body = b:sub(p + 2, p + etx - 1)
    local apdu = body:gsub("\16\16", "\16")
    local doubled = (#body - #apdu)
    if #apdu > ZVT_APDU_MAX then return zvt_broken(b, p, n, etx) end
    local crc = crc16_kermit(crc16_kermit(0, apdu), "\3")
    local lo, hi = b:byte(p + etx + 2), b:byte(p + etx + 3)
    local wire = lo + hi * 256
    local len, ok = etx + 4, crc == wire
    if not ok and (lo == DLE or hi == DLE) then
        -- a peer that doubles a 0x10 in the CRC too (docs/PROTOCOLS.md 2.1 [?])
        local v, o, r = {}, etx + 2, 1
        for k = 1, 2 do
            if o >= avail then r = 0 break end
            v[k] = b:byte(p + o); o = o + 1
            if v[k] == DLE then
                if o >= avail then r = 0 break end
                if b:byte(p + o) ~= DLE then r = -1 break end
                o = o + 1
            end
        end
        if r == 0 then
            st.resume = etx
            return 0
        end
        if r > 0 and v[1] + v[2] * 256 == crc then
            ok, len, wire, lo, hi = true, o, crc, v[1], v[2]
        end
    end
    return len, { type = "data", apdu = apdu, crc = wire, crc_lo = lo, crc_hi = hi, crc_calc = crc,
        checksum_ok = ok, doubled = doubled, crc_at = etx + 2 }
end

-- Wireshark's zvt dissector names every 84 xx a "negative completion" and reads no
-- further; what it means depends on xx and on who sends it (docs/PROTOCOLS.md 2.5).
local function zvt_84_note(item)
    local a = item.apdu
    if #a < 2 or a:byte(1) ~= 0x84 then return nil end
    local x = a:byte(2)
    if x == 0 then
        return "84 00: a positive acknowledgement (the specification's command summary)"
    elseif item.dir == "pt" then
        return string.format("84 %02X: the terminal refuses the command, result code %02X", x, x)
    elseif x == 0x9C then
        return "84 9C: issue of goods: the register asks the terminal to wait"
    elseif x == 0x9D then
        return "84 9D: issue of goods: the register books a partial amount (BMP 04 in the APDU)"
    end
    return string.format("84 %02X: issue of goods: the register did not issue the goods", x)
end

local zvt_engine = new_engine(zvt_scan, 2 + 2 * ZVT_APDU_MAX + 4)
local zvt_dissector = nil

local function zvt_render(tree, t, item, pinfo)
    if zvt_dissector == nil then
        local ok, d = pcall(Dissector.get, "zvt")
        zvt_dissector = ok and d or Dissector.get("data")
    end
    if item.type == "garbage" then
        return render_simple(pbzvt, zf, "ZVT", tree, t, item, ze_garbage)
    end
    local sub = frame_tree(pbzvt, zf, tree, t, item, item.type == "control" and
        ("ZVT line: " .. CONTROL_NAMES[item.control]:upper()) or "ZVT line: frame")
    local frame
    if item.type == "control" then
        sub:add(zf.kind, CONTROL_NAMES[item.control]):set_generated()
        sub:add(zf.control, t(0, 1))
        frame = t
    else
        sub:add(zf.kind, "frame"):set_generated()
        local c = sub:add(zx.crc, t(item.crc_at, item.length - item.crc_at), item.crc)
        if item.checksum_ok then
            c:append_text(" [correct]")
        else
            c:append_text(string.format(" [incorrect, should be 0x%04x]", item.crc_calc))
            c:add_proto_expert_info(ze_bad)
        end
        sub:add(zx.crc_calc, item.crc_calc):set_generated()
        sub:add(zx.checksum_ok, item.checksum_ok):set_generated()
        if item.doubled > 0 then sub:add(zx.doubled, item.doubled):set_generated() end
        local note = zvt_84_note(item)
        if note then sub:add(zx.note, note):set_generated() end
        local plain = "\16\2" .. item.apdu .. "\16\3" .. string.char(item.crc_lo, item.crc_hi)
        if plain == item.wire then
            frame = t
        else
            frame = ByteArray.new(plain, true):tvb("ZVT frame, DLE doubling undone")
        end
    end
    local ok = pcall(function() zvt_dissector:call(frame, pinfo, tree) end)
    local info = tostring(pinfo.cols.info)
    if item.type == "control" then return CONTROL_NAMES[item.control]:upper() end
    if not ok then info = "ZVT frame (the zvt dissector failed)" end
    if not item.checksum_ok then info = info .. " [bad CRC]" end
    return info
end

pbzvt.dissector = dissect_stream(zvt_engine, "ZVT", pbzvt, zf, zvt_render)
pbzvt.init = function() zvt_engine:reset() end

-- ==== registration ===========================================================================
--
-- wtap_encap is keyed by Wireshark's encapsulation numbers: LINKTYPE_USER0..15 (147..162)
-- are WTAP_ENCAP_USER0..15. Adding to the table replaces the DLT_USER mapping for these
-- link types, so no -o uat:user_dlts option is needed.

local encaps = wtap_encaps or wtap -- wtap before Wireshark 3.0
local wtap_encap = DissectorTable.get("wtap_encap")
wtap_encap:add(encaps.USER0, pbzvt)   -- 147
wtap_encap:add(encaps.USER1, concert) -- 148
wtap_encap:add(encaps.USER3, pax)     -- 150
wtap_encap:add(encaps.USER4, mispos)  -- 151
