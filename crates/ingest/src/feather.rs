//! Feather (Arrow IPC file) columns decoded straight into candle columns.
//!
//! arrow's reader decompresses each LZ4 frame with `lz4_flex`'s streaming decoder (every block
//! into a scratch buffer, then copied out) into a fresh buffer, which candles then copy again.
//! For the layout freqtrade, pandas and polars write — fixed-width columns, no nulls, buffers
//! LZ4-framed or uncompressed — [`read`] decodes each frame with liblz4 into its place in the
//! candle columns (liblz4 decodes the float columns of these files about 1.3 times as fast as
//! `lz4_flex`), verifying the frame's checksums. Anything else, including any defect, returns
//! `None`: the caller then reads the file with arrow, which stays the authority on what a file
//! means and words the error when it is broken.

use std::collections::VecDeque;
use std::hash::Hasher as _;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use arrow::datatypes::{DataType, TimeUnit};
use arrow::ipc::{CompressionType, Endianness, MetadataVersion};
use twox_hash::XxHash32;

use crate::Candles;
use crate::columnar::Wanted;
use crate::validate::Parsed;

/// Where the file's bytes are.
#[derive(Clone, Copy)]
pub(crate) enum Input<'a> {
    Memory(&'a [u8]),
    /// A local file, read with positional reads so that threads share it.
    File(&'a std::fs::File, u64),
}

impl Input<'_> {
    fn len(&self) -> u64 {
        match self {
            Input::Memory(b) => b.len() as u64,
            Input::File(_, size) => *size,
        }
    }

    /// `len` bytes from `at`: borrowed from memory, or read from the file into `scratch`.
    fn range<'s>(&'s self, at: u64, len: usize, scratch: &'s mut Vec<u8>) -> Option<&'s [u8]> {
        match self {
            Input::Memory(b) => {
                let at = usize::try_from(at).ok()?;
                b.get(at..at.checked_add(len)?)
            }
            Input::File(file, size) => {
                if at.checked_add(len as u64)? > *size {
                    return None;
                }
                scratch.resize(len, 0);
                std::os::unix::fs::FileExt::read_exact_at(*file, scratch, at).ok()?;
                Some(scratch)
            }
        }
    }
}

const MAGIC: &[u8] = b"ARROW1";

/// The candles of a Feather file whose layout allows decoding in place; `None` for any other
/// file (the caller falls back to arrow's reader).
pub(crate) fn read(input: Input, path: &Path) -> Option<Parsed> {
    let mut scratch = Vec::new();
    let size = input.len();
    if size < 2 * MAGIC.len() as u64 + 4
        || input.range(0, MAGIC.len(), &mut scratch)? != MAGIC
        || input.range(size - 6, 6, &mut scratch)? != MAGIC
    {
        return None;
    }
    let footer_len = i32::from_le_bytes(input.range(size - 10, 4, &mut scratch)?.try_into().ok()?);
    let footer_at = (size - 10).checked_sub(u64::try_from(footer_len).ok()?)?;
    let footer_bytes = input.range(footer_at, footer_len as usize, &mut scratch)?.to_vec();
    let footer = arrow::ipc::root_as_footer(&footer_bytes).ok()?;
    // What arrow's reader would refuse is left to it, to word the error: a defect anywhere in
    // the file, even in columns not read here, means it is not whole.
    let checked = match input {
        Input::Memory(bytes) => check_blocks(&mut std::io::Cursor::new(bytes), &footer, size),
        Input::File(mut file, _) => check_blocks(&mut file, &footer, size),
    };
    if checked.is_err() {
        return None;
    }
    let fb_schema = footer.schema()?;
    if fb_schema.endianness() != Endianness::Little
        || cfg!(target_endian = "big")
        || footer.dictionaries().is_some_and(|d| !d.is_empty())
    {
        return None;
    }
    let schema = arrow::ipc::convert::try_fb_to_schema(fb_schema).ok()?;
    let wanted = Wanted::find(&schema, path).ok()?;
    let fields = schema.fields();
    let last = wanted.indices().into_iter().max()?;
    // Every column up to the last needed one has one node and two buffers (validity, values).
    if !fields.iter().take(last + 1).all(|f| f.data_type().is_primitive()) {
        return None;
    }
    let time_unit = match fields[wanted.time].data_type() {
        DataType::Timestamp(unit, _) => *unit,
        _ => return None,
    };
    let [open, high, low, close] = wanted.prices;
    if [open, high, low, close]
        .into_iter()
        .chain(wanted.volume)
        .any(|i| fields[i].data_type() != &DataType::Float64)
    {
        return None;
    }
    // The needed columns in candle order: time, open, high, low, close, volume.
    let slots = [Some(wanted.time), Some(open), Some(high), Some(low), Some(close), wanted.volume];
    // Arrow's reader takes its nodes and buffers for every column, read or skipped, and
    // refuses a batch that has too few (found by fuzzing).
    let parts = ipc_parts_of(fields.iter().map(AsRef::as_ref))?;
    let batches = locate(input, &footer, &slots, parts, &mut scratch)?;

    let total: usize = batches.iter().map(|b| b.rows).sum();
    let mut times = vec![0i64; total];
    let mut values: [Vec<f64>; 5] = std::array::from_fn(|_| vec![0.0; total]);
    if wanted.volume.is_none() {
        values[4].fill(f64::NAN);
    }
    // One job per batch and column: a range of the file and the rows it fills.
    let mut jobs = Vec::with_capacity(batches.len() * slots.len());
    let mut times_left: &mut [i64] = &mut times;
    let mut values_left: Vec<&mut [f64]> = values.iter_mut().map(Vec::as_mut_slice).collect();
    for batch in &batches {
        let (rows, rest) = std::mem::take(&mut times_left).split_at_mut(batch.rows);
        times_left = rest;
        jobs.push(Job { source: batch.columns[0]?, out: Out::Times(rows, time_unit) });
        for (left, source) in values_left.iter_mut().zip(&batch.columns[1..]) {
            let (rows, rest) = std::mem::take(left).split_at_mut(batch.rows);
            *left = rest;
            if let Some(source) = *source {
                jobs.push(Job { source, out: Out::Values(rows) });
            }
        }
    }
    run(input, jobs)?;

    let names = fields.iter().map(|f| f.name().clone()).collect();
    let mut out = Parsed::new(crate::Format::Feather, names, wanted.volume.is_none(), false);
    let [open, high, low, close, volume] = values;
    out.candles = Candles { timestamp_ms: times, open, high, low, close, volume };
    Some(out)
}

/// The field nodes and buffers arrow's IPC reader takes for `field`, as its `skip_field`
/// counts them; `None` for the layouts whose count it reads from the message (views) or its
/// version (unions), which are left to arrow.
fn ipc_parts(field: &arrow::datatypes::Field) -> Option<(usize, usize)> {
    Some(match field.data_type() {
        DataType::Null => (1, 0),
        DataType::Utf8 | DataType::Binary | DataType::LargeUtf8 | DataType::LargeBinary => (1, 3),
        DataType::List(f) | DataType::LargeList(f) | DataType::Map(f, _) => {
            add((1, 2), ipc_parts(f)?)
        }
        DataType::FixedSizeList(f, _) => add((1, 1), ipc_parts(f)?),
        DataType::Struct(fs) => add((1, 1), ipc_parts_of(fs.iter().map(AsRef::as_ref))?),
        DataType::RunEndEncoded(ends, values) => {
            add(add((1, 0), ipc_parts(ends)?), ipc_parts(values)?)
        }
        DataType::FixedSizeBinary(_) | DataType::Dictionary(_, _) | DataType::Boolean => (1, 2),
        t if t.is_primitive() => (1, 2),
        _ => return None,
    })
}

/// [`ipc_parts`] summed over `fields`.
fn ipc_parts_of<'f>(
    mut fields: impl Iterator<Item = &'f arrow::datatypes::Field>,
) -> Option<(usize, usize)> {
    fields.try_fold((0, 0), |sum, f| Some(add(sum, ipc_parts(f)?)))
}

fn add(a: (usize, usize), b: (usize, usize)) -> (usize, usize) {
    (a.0 + b.0, a.1 + b.1)
}

/// How many times its stored size a compressed IPC buffer can decompress to: LZ4 at most
/// about 255 (a 1-byte literal-free sequence encodes up to 255 + 19 bytes), zstd far more
/// (an RLE block of 4 bytes fills 128 KiB).
fn max_expansion(codec: CompressionType) -> i64 {
    if codec == CompressionType::LZ4_FRAME { 256 } else { 1 << 15 }
}

/// Checks that what a Feather file's footer and record batch messages declare fits the file,
/// before arrow's reader allocates it: every block inside the file, every buffer inside its
/// block's body, and every compressed buffer's uncompressed length within what its codec can
/// expand to. A file of a few bytes that declares terabytes would otherwise abort the
/// process when arrow allocates them (found by fuzzing). Anything this cannot parse is left
/// to arrow, which words the error.
pub(crate) fn check_sizes<R: Read + Seek>(source: &mut R, size: u64) -> Result<(), String> {
    if size < 2 * MAGIC.len() as u64 + 4 {
        return Ok(());
    }
    let tail = read_at(source, size - 10, 10)?;
    if &tail[4..] != MAGIC {
        return Ok(());
    }
    let footer_len = i32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let Some(footer_at) = u64::try_from(footer_len).ok().and_then(|n| (size - 10).checked_sub(n))
    else {
        return Err(format!("the footer's length ({footer_len} bytes) does not fit the file"));
    };
    let footer_bytes = read_at(source, footer_at, footer_len as usize)?;
    let Ok(footer) = arrow::ipc::root_as_footer(&footer_bytes) else { return Ok(()) };
    check_blocks(source, &footer, size)
}

/// `len` bytes of `source` from `at`.
fn read_at<R: Read + Seek>(source: &mut R, at: u64, len: usize) -> Result<Vec<u8>, String> {
    let mut buf = vec![0; len];
    source
        .seek(SeekFrom::Start(at))
        .and_then(|_| source.read_exact(&mut buf))
        .map_err(|e| format!("cannot read {len} bytes at {at}: {e}"))?;
    Ok(buf)
}

/// [`check_sizes`] of the blocks a parsed `footer` lists.
fn check_blocks<R: Read + Seek>(
    source: &mut R,
    footer: &arrow::ipc::Footer,
    size: u64,
) -> Result<(), String> {
    let version = footer.version();
    let batches = footer.recordBatches().into_iter().flatten().map(|b| (b, true));
    let dictionaries = footer.dictionaries().into_iter().flatten().map(|b| (b, false));
    for (i, (block, is_batch)) in batches.chain(dictionaries).enumerate() {
        let (at, meta, body) = (block.offset(), block.metaDataLength(), block.bodyLength());
        let end = u64::try_from(at)
            .ok()
            .zip(u64::try_from(meta).ok())
            .zip(u64::try_from(body).ok())
            .and_then(|((a, m), b)| a.checked_add(m)?.checked_add(b));
        if end.is_none_or(|end| end > size) {
            return Err(format!(
                "block {i} (offset {at}, {meta} + {body} bytes) lies beyond the end of the file \
                 ({size} bytes)"
            ));
        }
        let (at, meta_len) = (at as u64, meta as usize);
        let meta = read_at(source, at, meta_len)?;
        let skip = if meta.get(..4) == Some(&[0xFF; 4]) { 8 } else { 4 };
        // arrow's reader would parse the message from the metadata and the body together:
        // one that does not fit its metadata, as the format requires, is refused here.
        let Some(Ok(message)) = meta.get(skip..).map(arrow::ipc::root_as_message) else {
            return Err(format!("block {i}: its message is not readable"));
        };
        // As arrow's reader: every message of the footer's version (V1: footers that do not
        // set it).
        if version != MetadataVersion::V1 && message.version() != version {
            return Err(format!(
                "block {i}: metadata version {:?}, not {version:?}",
                message.version()
            ));
        }
        let batch = if is_batch {
            message.header_as_record_batch()
        } else {
            message.header_as_dictionary_batch().and_then(|d| d.data())
        };
        let Some(batch) = batch else {
            return Err(format!("block {i}: not a record or dictionary batch"));
        };
        let codec = batch.compression().map(|c| c.codec());
        let body_at = at + meta_len as u64;
        for (j, buffer) in batch.buffers().into_iter().flatten().enumerate() {
            let (offset, len) = (buffer.offset(), buffer.length());
            if offset < 0 || len < 0 || offset.checked_add(len).is_none_or(|e| e > body) {
                return Err(format!(
                    "block {i}: buffer {j} (offset {offset}, {len} bytes) lies outside the \
                     block's {body} bytes"
                ));
            }
            let Some(codec) = codec else { continue };
            if len < 8 {
                continue;
            }
            let prefix = read_at(source, body_at + offset as u64, 8)?;
            let declared = i64::from_le_bytes(prefix.try_into().unwrap_or([0; 8]));
            if declared > len.saturating_mul(max_expansion(codec)).saturating_add(1024) {
                return Err(format!(
                    "block {i}: buffer {j} declares {declared} bytes once decompressed, from \
                     {len} bytes of {codec:?}"
                ));
            }
        }
    }
    Ok(())
}

/// A record batch: its row count and, per candle column, where its values are stored.
struct Batch {
    rows: usize,
    columns: [Option<Range>; 6],
}

/// A buffer's place in the file.
#[derive(Clone, Copy)]
struct Range {
    at: u64,
    len: usize,
    /// Behind an 8-byte uncompressed length, as an LZ4 frame.
    compressed: bool,
}

/// Locates the values of the columns at `slots` (field positions) in every record batch;
/// `None` where a batch has nulls there, a codec other than LZ4, or anything unexpected.
fn locate(
    input: Input,
    footer: &arrow::ipc::Footer,
    slots: &[Option<usize>; 6],
    (nodes_needed, buffers_needed): (usize, usize),
    scratch: &mut Vec<u8>,
) -> Option<Vec<Batch>> {
    let mut out = Vec::new();
    for block in footer.recordBatches()?.iter() {
        let at = u64::try_from(block.offset()).ok()?;
        let meta_len = usize::try_from(block.metaDataLength()).ok()?;
        let meta = input.range(at, meta_len, scratch)?;
        // Since Arrow 0.15 a message starts with 0xFFFFFFFF, then its length.
        let skip = if meta.get(..4)? == [0xFF; 4] { 8 } else { 4 };
        let message = arrow::ipc::root_as_message(meta.get(skip..)?).ok()?;
        let batch = message.header_as_record_batch()?;
        let compressed = match batch.compression() {
            None => false,
            Some(c) if c.codec() == CompressionType::LZ4_FRAME => true,
            Some(_) => return None,
        };
        let rows = usize::try_from(batch.length()).ok()?;
        // The columns are allocated before they are decoded: a batch cannot hold more rows
        // than its body can store, even compressed (LZ4: ~255 times). (`check_blocks` has put
        // every block inside the file and every buffer inside its block.)
        let body_len = u64::try_from(block.bodyLength()).ok()?;
        if rows.checked_mul(8)? as u64 > body_len.checked_mul(256)? {
            return None;
        }
        let (nodes, buffers) = (batch.nodes()?, batch.buffers()?);
        if nodes.len() < nodes_needed || buffers.len() < buffers_needed {
            return None;
        }
        let body = at.checked_add(meta_len as u64)?;
        let mut columns = [None; 6];
        for (column, slot) in columns.iter_mut().zip(slots) {
            let Some(i) = *slot else { continue };
            if i >= nodes.len() || 2 * i + 1 >= buffers.len() {
                return None;
            }
            let node = nodes.get(i);
            if node.null_count() != 0 || usize::try_from(node.length()).ok()? != rows {
                return None;
            }
            // No validity bitmap (what pyarrow, pandas and polars write without nulls): one
            // that is there is decoded by arrow, which refuses a corrupt one.
            if buffers.get(2 * i).length() != 0 {
                return None;
            }
            let values = buffers.get(2 * i + 1);
            *column = Some(Range {
                at: body.checked_add(u64::try_from(values.offset()).ok()?)?,
                len: usize::try_from(values.length()).ok()?,
                compressed,
            });
        }
        out.push(Batch { rows, columns });
    }
    Some(out)
}

/// One column of one batch: where its values are in the file, and the rows they fill.
struct Job<'a> {
    source: Range,
    out: Out<'a>,
}

enum Out<'a> {
    /// Times in `TimeUnit`, converted to ms once decoded.
    Times(&'a mut [i64], TimeUnit),
    Values(&'a mut [f64]),
}

impl Job<'_> {
    /// Bytes read plus bytes written: what decoding it costs, roughly.
    fn weight(&self) -> usize {
        self.source.len
            + match &self.out {
                Out::Times(t, _) => t.len() * 8,
                Out::Values(v) => v.len() * 8,
            }
    }

    fn run(self, input: Input, scratch: &mut Vec<u8>) -> Option<()> {
        let Range { at, len, compressed } = self.source;
        let source = input.range(at, len, scratch)?;
        match self.out {
            Out::Times(t, unit) => {
                buffer(source, compressed, bytemuck::cast_slice_mut(t))?;
                crate::columnar::to_ms(t, unit);
            }
            Out::Values(v) => buffer(source, compressed, bytemuck::cast_slice_mut(v))?,
        }
        Some(())
    }
}

/// Runs the jobs, on two threads when there is enough to do: longest first, each to the
/// thread with less work so far.
fn run(input: Input, mut jobs: Vec<Job>) -> Option<()> {
    let serial = |jobs: Vec<Job>| {
        let mut scratch = Vec::new();
        jobs.into_iter().try_for_each(|job| job.run(input, &mut scratch))
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || jobs.len() < 2 || jobs.iter().map(Job::weight).sum::<usize>() < 4 << 20 {
        return serial(jobs);
    }
    jobs.sort_by_key(|job| std::cmp::Reverse(job.weight()));
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    let (mut my_load, mut their_load) = (0, 0);
    for job in jobs {
        if my_load <= their_load {
            my_load += job.weight();
            mine.push(job);
        } else {
            their_load += job.weight();
            theirs.push(job);
        }
    }
    std::thread::scope(|scope| {
        let other = scope.spawn(|| serial(theirs));
        let done = serial(mine);
        done.and(other.join().ok().flatten())
    })
}

/// One IPC buffer into `out` (exactly the rows' bytes): stored as is, or behind its 8-byte
/// uncompressed length as an LZ4 frame (length -1: stored as is after all).
fn buffer(source: &[u8], compressed: bool, out: &mut [u8]) -> Option<()> {
    if out.is_empty() {
        return Some(());
    }
    let stored = if compressed {
        let (len, frame) = source.split_first_chunk::<8>()?;
        match i64::from_le_bytes(*len) {
            -1 => frame,
            n if usize::try_from(n).ok()? == out.len() => return lz4_frame(frame, out),
            _ => return None,
        }
    } else {
        source
    };
    out.copy_from_slice(stored.get(..out.len())?);
    Some(())
}

/// The LZ4 frame magic number.
const LZ4_MAGIC: u32 = 0x184D_2204;

/// Decodes one LZ4 frame (the whole of `frame`) into `out`, which it must fill exactly, with
/// liblz4; the header checksum verified, and the content checksum, or else the block
/// checksums, when the frame has them.
///
/// Independent blocks are decoded one by one straight into their place. Linked blocks (the
/// default of pyarrow and polars), whose matches reach into the previous 64 KiB of output,
/// need liblz4's frame decoder, the one safe way to give it that history; it is handed the
/// frame without its checksums, which are checked here with `twox-hash` instead (liblz4's own
/// xxhash32 took twice as long).
fn lz4_frame(frame: &[u8], out: &mut [u8]) -> Option<()> {
    let u32_at = |at: usize| Some(u32::from_le_bytes(*frame.get(at..)?.first_chunk::<4>()?));
    let (flags, bd) = (*frame.get(4)?, *frame.get(5)?);
    let independent = flags & 0x20 != 0;
    let block_checksums = flags & 0x10 != 0;
    let content_size = flags & 0x08 != 0;
    let content_checksum = flags & 0x04 != 0;
    // Version 01; no reserved bits; no dictionary id.
    if u32_at(0)? != LZ4_MAGIC || flags >> 6 != 1 || flags & 0x03 != 0 || bd & 0x8F != 0 {
        return None;
    }
    let max_block = match bd >> 4 {
        4 => 64 << 10,
        5 => 256 << 10,
        6 => 1 << 20,
        7 => 4 << 20,
        _ => return None,
    };
    let descriptor_end = if content_size { 14 } else { 6 };
    let descriptor = frame.get(4..descriptor_end)?;
    if (XxHash32::oneshot(0, descriptor) >> 8) as u8 != *frame.get(descriptor_end)? {
        return None;
    }
    if content_size && u64::from_le_bytes(*descriptor[2..].first_chunk::<8>()?) != out.len() as u64
    {
        return None;
    }
    // Linked blocks: the frame without its checksums, for liblz4, as pieces of `frame`
    // after a header whose checksum flags are cleared (and its own checksum redone).
    let mut header = [0u8; 15];
    let mut unchecked = if independent {
        None
    } else {
        let header = &mut header[..=descriptor_end];
        header.copy_from_slice(&frame[..=descriptor_end]);
        header[4] &= !0x14;
        header[descriptor_end] = (XxHash32::oneshot(0, &header[4..descriptor_end]) >> 8) as u8;
        Some(Pieces(VecDeque::from([&*header])))
    };
    let mut at = descriptor_end + 1;
    let mut written = 0;
    let mut content = XxHash32::with_seed(0);
    loop {
        let word = u32_at(at)?;
        at += 4;
        if word == 0 {
            break;
        }
        let len = (word & 0x7FFF_FFFF) as usize;
        let block = frame.get(at..at.checked_add(len)?)?;
        // The block with its size word before it.
        let sized = &frame[at - 4..at + len];
        at += len;
        if len > max_block {
            return None;
        }
        if block_checksums {
            // The content checksum, when there is one, covers every block end to end: a
            // damaged block decodes to different bytes (or fails to decode). Block checksums
            // are checked only without it, which saves hashing the compressed bytes again.
            if !content_checksum && XxHash32::oneshot(0, block) != u32_at(at)? {
                return None;
            }
            at += 4;
        }
        if let Some(pieces) = unchecked.as_mut() {
            pieces.0.push_back(sized);
            continue;
        }
        let rest = &mut out[written..];
        let room = rest.len().min(max_block);
        let n = if word & 0x8000_0000 != 0 {
            rest.get_mut(..len)?.copy_from_slice(block);
            len
        } else {
            // `room` is at most 4 MiB.
            lz4::block::decompress_to_buffer(block, Some(room as i32), &mut rest[..room]).ok()?
        };
        if content_checksum {
            content.write(&rest[..n]);
        }
        written += n;
    }
    let end = at;
    if content_checksum {
        at += 4;
    }
    // One frame per buffer, as Arrow writes it.
    if at != frame.len() {
        return None;
    }
    if let Some(mut pieces) = unchecked {
        // The end mark.
        pieces.0.push_back(&frame[end - 4..end]);
        linked(pieces, out)?;
        if content_checksum {
            content.write(out);
        }
        written = out.len();
    }
    if written != out.len() {
        return None;
    }
    (!content_checksum || content.finish_32() == u32_at(end)?).then_some(())
}

/// A frame of linked blocks, without checksums, decoded by liblz4's frame decoder: it must
/// fill `out` exactly and end there.
fn linked(frame: Pieces, out: &mut [u8]) -> Option<()> {
    let mut decoder = lz4::Decoder::new(frame).ok()?;
    decoder.read_exact(out).ok()?;
    // Reading on past the last block reaches the end mark: nothing may follow.
    if decoder.read(&mut [0u8; 1]).ok()? != 0 {
        return None;
    }
    let (rest, ended) = decoder.finish();
    (ended.is_ok() && rest.0.iter().all(|piece| piece.is_empty())).then_some(())
}

/// Slices read one after the other.
struct Pieces<'a>(VecDeque<&'a [u8]>);

impl std::io::Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(piece) = self.0.front_mut() {
            if piece.is_empty() {
                self.0.pop_front();
                continue;
            }
            let n = piece.len().min(buf.len());
            buf[..n].copy_from_slice(&piece[..n]);
            *piece = &piece[n..];
            return Ok(n);
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, Int32Array, StringArray, TimestampSecondArray};
    use arrow::array::{TimestampMicrosecondArray, TimestampNanosecondArray};
    use arrow::datatypes::{Field, Schema};
    use arrow::ipc::writer::{FileWriter, IpcWriteOptions};
    use arrow::record_batch::RecordBatch;
    use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};

    use super::*;

    /// Prices as a market makes them: a walk, so that LZ4 finds matches and references.
    fn walk(n: usize, seed: u64) -> Vec<f64> {
        let mut x = seed;
        let mut p = 100.0;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                p += ((x >> 60) as f64 - 7.5) * 0.25;
                p
            })
            .collect()
    }

    fn frame(data: &[u8], info: FrameInfo) -> Vec<u8> {
        let mut encoder = FrameEncoder::with_frame_info(info, Vec::new());
        encoder.write_all(data).expect("compress");
        encoder.finish().expect("finish")
    }

    /// Every layout the frame format has: linked and independent blocks, 64 and 256 KiB
    /// blocks, with and without content size and checksums; each decoded in place equals the
    /// input. Polars writes linked blocks with both checksums; freqtrade (pyarrow) writes
    /// linked or independent blocks without.
    #[test]
    fn frames_of_every_layout_decode_in_place() {
        let data: Vec<u8> = bytemuck::cast_slice(&walk(100_000, 3)).to_vec();
        for mode in [BlockMode::Linked, BlockMode::Independent] {
            for size in [BlockSize::Max64KB, BlockSize::Max256KB] {
                for sums in [false, true] {
                    for content_size in [None, Some(data.len() as u64)] {
                        let info = FrameInfo::new()
                            .block_mode(mode)
                            .block_size(size)
                            .block_checksums(sums)
                            .content_checksum(sums)
                            .content_size(content_size);
                        let compressed = frame(&data, info);
                        assert!(compressed.len() < data.len() / 2, "{}", compressed.len());
                        let mut out = vec![0u8; data.len()];
                        let layout = format!("{mode:?} {size:?} checksums {sums} {content_size:?}");
                        assert_eq!(lz4_frame(&compressed, &mut out), Some(()), "{layout}");
                        assert!(out == data, "{layout}");
                    }
                }
            }
        }
        // Incompressible data: blocks stored as they are.
        let noise: Vec<u8> =
            (0..200_000u64).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let compressed = frame(&noise, FrameInfo::new().content_checksum(true));
        let mut out = vec![0u8; noise.len()];
        assert_eq!(lz4_frame(&compressed, &mut out), Some(()));
        assert!(out == noise);
    }

    /// A flipped byte fails a checksum; a short, long or trailing frame, or a wrong header
    /// checksum, is refused: arrow's reader then words the error.
    #[test]
    fn broken_frames_are_refused() {
        let data: Vec<u8> = bytemuck::cast_slice(&walk(50_000, 5)).to_vec();
        let info = |block, content| {
            FrameInfo::new()
                .block_mode(BlockMode::Linked)
                .block_checksums(block)
                .content_checksum(content)
        };
        let decode = |frame: &[u8], len: usize| lz4_frame(frame, &mut vec![0u8; len]);
        for (block, content) in [(true, false), (false, true), (true, true)] {
            let good = frame(&data, info(block, content));
            assert_eq!(decode(&good, data.len()), Some(()));
            // A literal in the middle of the first block, past the header.
            let mut flipped = good.clone();
            let at = 7 + 4 + 1_000;
            flipped[at] ^= 0x01;
            assert_eq!(decode(&flipped, data.len()), None, "block {block} content {content}");
        }
        let good = frame(&data, info(false, false));
        assert_eq!(decode(&good[..good.len() - 5], data.len()), None, "truncated");
        assert_eq!(decode(&[&good[..], &[0]].concat(), data.len()), None, "trailing byte");
        assert_eq!(decode(&good, data.len() - 8), None, "longer than the buffer");
        assert_eq!(decode(&good, data.len() + 8), None, "shorter than the buffer");
        let mut header = good.clone();
        header[6] ^= 0xFF;
        assert_eq!(decode(&header, data.len()), None, "header checksum");
        assert_eq!(decode(&[], data.len()), None, "empty");
    }

    fn ipc(batches: &[RecordBatch], compression: Option<CompressionType>) -> Vec<u8> {
        let options =
            IpcWriteOptions::default().try_with_compression(compression).expect("options");
        let mut out = Vec::new();
        let mut w = FileWriter::try_new_with_options(&mut out, &batches[0].schema(), options)
            .expect("writer");
        for b in batches {
            w.write(b).expect("write");
        }
        w.finish().expect("finish");
        drop(w);
        out
    }

    /// What arrow's reader makes of the file.
    fn with_arrow(bytes: &[u8]) -> Parsed {
        let open = || Ok(std::io::Cursor::new(bytes));
        crate::columnar::read_feather_from(open, bytes.len(), Path::new("t.feather"))
            .expect("arrow reads it")
    }

    fn assert_same(a: &Parsed, b: &Parsed, what: &str) {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let (x, y) = (&a.candles, &b.candles);
        assert_eq!(x.timestamp_ms, y.timestamp_ms, "{what}: times");
        for (name, p, q) in [
            ("open", &x.open, &y.open),
            ("high", &x.high, &y.high),
            ("low", &x.low, &y.low),
            ("close", &x.close, &y.close),
            ("volume", &x.volume, &y.volume),
        ] {
            assert_eq!(bits(p), bits(q), "{what}: {name}");
        }
        assert_eq!(
            (a.columns.clone(), a.no_volume, a.null_rows),
            (b.columns.clone(), b.no_volume, b.null_rows),
            "{what}"
        );
    }

    /// Makes a time column from seconds since the epoch.
    type TimeArray = fn(Vec<i64>) -> ArrayRef;

    /// Candles in `rows` batches; an extra column before (`Int32`) and after (`Utf8`) the ones
    /// candles need, columns out of candle order, and times made by `time`.
    fn candles(rows: &[usize], time: TimeArray, volume: bool) -> Vec<RecordBatch> {
        let mut fields = vec![
            Field::new("id", DataType::Int32, false),
            Field::new("date", time(vec![0]).data_type().clone(), false),
            Field::new("close", DataType::Float64, false),
            Field::new("open", DataType::Float64, false),
            Field::new("low", DataType::Float64, false),
            Field::new("high", DataType::Float64, false),
        ];
        if volume {
            fields.push(Field::new("volume", DataType::Float64, false));
        }
        fields.push(Field::new("note", DataType::Utf8, true));
        let schema = Arc::new(Schema::new(fields));
        let mut start = 0;
        rows.iter()
            .map(|&n| {
                let f = |seed: u64| {
                    Arc::new(Float64Array::from(walk(n, seed + start as u64))) as ArrayRef
                };
                let mut columns: Vec<ArrayRef> = vec![
                    Arc::new(Int32Array::from_iter_values(0..n as i32)),
                    time((0..n as i64).map(|i| (start as i64 + i) * 60 + 1_600_000_000).collect()),
                    f(1),
                    f(2),
                    f(3),
                    f(4),
                ];
                if volume {
                    columns.push(f(5));
                }
                columns.push(Arc::new(StringArray::from_iter(
                    (0..n).map(|i| (i % 3 == 0).then_some("x")),
                )));
                start += n;
                RecordBatch::try_new(Arc::clone(&schema), columns).expect("batch")
            })
            .collect()
    }

    /// A compressed buffer that declares a terabyte once decompressed is refused before
    /// arrow allocates it (it aborted the process: found by fuzzing), on both paths.
    #[test]
    fn declared_sizes_are_checked_before_anything_is_allocated() {
        let nanos = |t: Vec<i64>| Arc::new(TimestampNanosecondArray::from(t)) as ArrayRef;
        let mut bytes = ipc(&candles(&[100], nanos, true), Some(CompressionType::LZ4_FRAME));
        assert_eq!(check_sizes(&mut std::io::Cursor::new(&bytes), bytes.len() as u64), Ok(()));
        // A buffer of 100 values: its uncompressed length (800), then the LZ4 frame's magic.
        let mut prefix = 800i64.to_le_bytes().to_vec();
        prefix.extend(LZ4_MAGIC.to_le_bytes());
        let at = bytes.windows(12).position(|w| w == prefix).expect("a compressed buffer");
        bytes[at..at + 8].copy_from_slice(&(1i64 << 40).to_le_bytes());
        let err = check_sizes(&mut std::io::Cursor::new(&bytes), bytes.len() as u64)
            .expect_err("a terabyte from a few bytes");
        assert!(err.contains("declares 1099511627776 bytes once decompressed, from "), "{err}");
        assert!(!err.contains("  "), "one line, single spaces: {err}");
        assert!(read(Input::Memory(&bytes), Path::new("t.feather")).is_none());
        let open = || Ok(std::io::Cursor::new(&bytes));
        let err = crate::columnar::read_feather_from(open, bytes.len(), Path::new("t.feather"))
            .expect_err("refused");
        assert!(err.to_string().starts_with("t.feather: corrupt Feather/Arrow IPC file"), "{err}");
    }

    /// Files in the layouts the fast path takes decode to exactly what arrow's reader makes of
    /// them, from memory and from a file, on one thread and on two.
    #[test]
    fn files_decode_as_arrow_reads_them() {
        let seconds = |t: Vec<i64>| Arc::new(TimestampSecondArray::from(t)) as ArrayRef;
        let micros = |t: Vec<i64>| {
            Arc::new(
                TimestampMicrosecondArray::from(
                    t.into_iter().map(|t| t * 1_000_000 + 7).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ) as ArrayRef
        };
        let nanos = |t: Vec<i64>| {
            Arc::new(
                TimestampNanosecondArray::from(
                    t.into_iter().map(|t| t * 1_000_000_000 - 3).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ) as ArrayRef
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let cases: [(&str, TimeArray, &[usize], bool); 4] = [
            ("ns, one batch", nanos, &[1_000], true),
            ("s, batches with an empty one", seconds, &[700, 0, 300], true),
            ("us, no volume", micros, &[500, 500], false),
            // Over 4 MB: decoded on two threads.
            ("ns, large", nanos, &[120_000, 80_000], true),
        ];
        for (what, time, rows, volume) in cases {
            for compression in [Some(CompressionType::LZ4_FRAME), None] {
                let what = format!("{what}, {compression:?}");
                let bytes = ipc(&candles(rows, time, volume), compression);
                let fast = read(Input::Memory(&bytes), Path::new("t.feather")).expect(&what);
                assert_same(&fast, &with_arrow(&bytes), &what);
                let path = dir.path().join("t.feather");
                std::fs::write(&path, &bytes).expect("write");
                let file = std::fs::File::open(&path).expect("open");
                let from_file = read(Input::File(&file, bytes.len() as u64), &path).expect(&what);
                assert_same(&from_file, &fast, &what);
            }
        }
    }

    /// Nulls in a needed column, a variable-width column before the needed ones, or Zstandard
    /// buffers: not this path's layout, so arrow's reader reads the file.
    #[test]
    fn other_layouts_are_left_to_arrow() {
        let nanos = |t: Vec<i64>| Arc::new(TimestampNanosecondArray::from(t)) as ArrayRef;
        let batches = candles(&[100], nanos, true);
        let zstd = ipc(&batches, Some(CompressionType::ZSTD));
        assert!(read(Input::Memory(&zstd), Path::new("z.feather")).is_none());

        let b = &batches[0];
        let mut close: Vec<Option<f64>> =
            b.column(2).as_any().downcast_ref::<Float64Array>().expect("f64").iter().collect();
        close[10] = None;
        let mut columns = b.columns().to_vec();
        columns[2] = Arc::new(Float64Array::from(close));
        let schema = Schema::new(
            b.schema()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect::<Vec<_>>(),
        );
        let nulls = RecordBatch::try_new(Arc::new(schema), columns).expect("batch");
        let bytes = ipc(&[nulls], Some(CompressionType::LZ4_FRAME));
        assert!(read(Input::Memory(&bytes), Path::new("n.feather")).is_none());
        let parsed = crate::columnar::read_feather(&bytes, Path::new("n.feather")).expect("arrow");
        assert!(parsed.candles.close[10].is_nan());

        let text = Arc::new(StringArray::from_iter_values((0..100).map(|i| i.to_string())));
        let mut fields: Vec<Field> = vec![Field::new("symbol", DataType::Utf8, false)];
        fields.extend(b.schema().fields().iter().map(|f| f.as_ref().clone()));
        let columns =
            std::iter::once(text as ArrayRef).chain(b.columns().iter().cloned()).collect();
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch");
        let bytes = ipc(&[batch], Some(CompressionType::LZ4_FRAME));
        assert!(read(Input::Memory(&bytes), Path::new("s.feather")).is_none());
        assert_same(
            &crate::columnar::read_feather(&bytes, Path::new("s.feather")).expect("arrow"),
            &with_arrow(&bytes),
            "symbol first",
        );
    }

    /// Every Feather file of the shared collection (freqtrade's, linked and independent
    /// blocks) takes this path and decodes to what arrow's reader makes of it.
    #[test]
    fn freqtrade_files_decode_as_arrow_reads_them() {
        let root = std::env::var_os("QUANTSWEEP_SHARED_DATASETS").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"),
            std::path::PathBuf::from,
        );
        let mut files = Vec::new();
        let mut dirs = vec![root.join("freqtrade")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "feather") {
                    files.push(path);
                }
            }
        }
        if files.is_empty() {
            // tests/shared_datasets.rs insists on the collection in CI.
            eprintln!("skipped: no Feather files under {}", root.display());
            return;
        }
        for path in files {
            let bytes = std::fs::read(&path).expect("read");
            let what = path.display().to_string();
            let fast = read(Input::Memory(&bytes), &path).expect(&what);
            assert_same(&fast, &with_arrow(&bytes), &what);
        }
    }
}
