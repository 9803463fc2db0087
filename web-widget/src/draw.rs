//! Waveform drawing: plain functions from peaks and analysis results to canvas
//! pixels. The math (time to pixel, peaks to columns, amplitude scaling, label
//! placement, axis ticks) is pure and tested natively; only the `paint_*` functions
//! touch a canvas.

use callscope_api_types::{OverlapKind, PeaksWindow, Speaker};
use web_sys::CanvasRenderingContext2d;

/// Full scale of a signed 16-bit peak value.
const FULL_SCALE: f64 = 32768.0;

/// Largest amplification applied to a quiet channel, so that line noise in a silent
/// channel is not blown up into something that looks like speech.
const MAX_GAIN: f64 = 8.0;

/// Share of the half height the loudest column reaches after scaling, leaving a
/// margin above and below the waveform.
const HEADROOM: f64 = 0.9;

/// Maps between times on the recording and horizontal pixel positions of a view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale {
    pub start_ms: i64,
    pub end_ms: i64,
    pub width_px: f64,
}

impl TimeScale {
    /// Creates a scale for `start_ms..end_ms` over `width_px` pixels. An empty or
    /// reversed range is widened to one millisecond so that no division is by zero.
    pub fn new(start_ms: i64, end_ms: i64, width_px: f64) -> Self {
        let end_ms = end_ms.max(start_ms + 1);
        Self { start_ms, end_ms, width_px: width_px.max(0.0) }
    }

    pub fn span_ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }

    /// Horizontal position of `ms`, unclamped: times outside the view map outside
    /// `0..width_px`.
    pub fn x_of(&self, ms: i64) -> f64 {
        (ms - self.start_ms) as f64 * self.width_px / self.span_ms() as f64
    }

    /// Time at horizontal position `x`, clamped to the view.
    pub fn ms_of(&self, x: f64) -> i64 {
        if self.width_px <= 0.0 {
            return self.start_ms;
        }
        let ms = self.start_ms as f64 + x * self.span_ms() as f64 / self.width_px;
        (ms.round() as i64).clamp(self.start_ms, self.end_ms)
    }

    /// Left and right pixel edges of `start_ms..end_ms` clipped to the view, or
    /// `None` when the range lies wholly outside it.
    pub fn visible_span(&self, start_ms: i64, end_ms: i64) -> Option<(f64, f64)> {
        if end_ms <= self.start_ms || start_ms >= self.end_ms || end_ms <= start_ms {
            return None;
        }
        let left = self.x_of(start_ms).max(0.0);
        let right = self.x_of(end_ms).min(self.width_px);
        Some((left, right))
    }
}

/// Smallest and largest sample under one canvas column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub min: i16,
    pub max: i16,
}

/// Resamples a peaks window onto `columns` canvas columns of `scale`, merging the
/// given channels (all channels of a mixed recording, one for a separate one).
///
/// Each column takes the minimum of the minimums and the maximum of the maximums of
/// every peaks pixel whose time range meets the column's. A column with no peaks
/// data under it (outside the window, or a channel the window lacks) is `None`.
pub fn columns(window: &PeaksWindow, channels: &[u16], scale: &TimeScale, columns: usize) -> Vec<Option<Column>> {
    let stride = usize::from(window.channels) * 2;
    let pixels = window.data.len().checked_div(stride).unwrap_or(0);
    let ms_per_pixel = if window.sample_rate == 0 {
        0.0
    } else {
        f64::from(window.samples_per_pixel) * 1000.0 / f64::from(window.sample_rate)
    };
    let present: Vec<usize> = channels.iter().map(|&c| usize::from(c)).filter(|&c| c < usize::from(window.channels)).collect();

    let mut result = vec![None; columns];
    if pixels == 0 || ms_per_pixel <= 0.0 || present.is_empty() || columns == 0 {
        return result;
    }

    let column_ms = scale.span_ms() as f64 / columns as f64;
    for (index, slot) in result.iter_mut().enumerate() {
        let column_start = scale.start_ms as f64 + index as f64 * column_ms;
        let first = ((column_start - window.start_ms as f64) / ms_per_pixel).floor();
        let last = ((column_start + column_ms - window.start_ms as f64) / ms_per_pixel).ceil().max(first + 1.0);
        if last <= 0.0 || first >= pixels as f64 {
            continue;
        }
        let first = first.max(0.0) as usize;
        let last = (last as usize).min(pixels);

        let mut merged: Option<Column> = None;
        for pixel in first..last {
            for &channel in &present {
                let offset = pixel * stride + channel * 2;
                let (min, max) = (window.data[offset], window.data[offset + 1]);
                merged = Some(match merged {
                    None => Column { min, max },
                    Some(column) => Column { min: column.min.min(min), max: column.max.max(max) },
                });
            }
        }
        *slot = merged;
    }
    result
}

/// Amplification that makes the loudest column reach [`HEADROOM`] of the half
/// height, between 1 (never quieter than full scale) and [`MAX_GAIN`].
pub fn gain(columns: &[Option<Column>]) -> f64 {
    let loudest = columns
        .iter()
        .flatten()
        .map(|column| i32::from(column.min).abs().max(i32::from(column.max).abs()))
        .max()
        .unwrap_or(0);
    if loudest == 0 {
        return 1.0;
    }
    (HEADROOM * FULL_SCALE / f64::from(loudest)).clamp(1.0, MAX_GAIN)
}

/// Vertical position of a sample value on a canvas `height` pixels tall, with
/// positive values above the middle line, clamped to the canvas.
pub fn y_of(value: i16, height: f64, gain: f64) -> f64 {
    let middle = height / 2.0;
    let y = middle - f64::from(value) / FULL_SCALE * gain * middle;
    y.clamp(0.0, height)
}

/// Where a label goes: its left edge and the row it sits in, 0 being the top row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelSlot {
    pub left_px: f64,
    pub lane: usize,
}

/// Smallest horizontal gap between two labels in one lane, in pixels.
const LABEL_GAP_PX: f64 = 4.0;

/// Places labels of the given widths centred over their anchors (`(centre_x,
/// width)`, sorted by `centre_x`) inside `0..width_px`.
///
/// Each label goes into the first of `lanes` rows where it clears the previous
/// label; when none is free it takes the row whose last label ends first, so every
/// label is placed and overlaps only when more than `lanes` labels crowd one spot.
pub fn place_labels(anchors: &[(f64, f64)], width_px: f64, lanes: usize) -> Vec<LabelSlot> {
    let lanes = lanes.max(1);
    let mut lane_ends = vec![f64::NEG_INFINITY; lanes];
    let mut slots = Vec::with_capacity(anchors.len());

    for &(centre, label_width) in anchors {
        let max_left = (width_px - label_width).max(0.0);
        let left = (centre - label_width / 2.0).clamp(0.0, max_left);

        let free = lane_ends.iter().position(|&end| end + LABEL_GAP_PX <= left);
        let lane = free.unwrap_or_else(|| {
            let mut earliest = 0;
            for (index, &end) in lane_ends.iter().enumerate() {
                if end < lane_ends[earliest] {
                    earliest = index;
                }
            }
            earliest
        });

        lane_ends[lane] = left + label_width;
        slots.push(LabelSlot { left_px: left, lane });
    }
    slots
}

/// Estimated width in pixels of a short label in the widget's 11 px label font:
/// 6.5 px per character plus 8 px of padding. Exact widths would need the DOM, and
/// an estimate a little too wide only moves a label to the next lane.
pub fn label_width(text: &str) -> f64 {
    text.chars().count() as f64 * 6.5 + 8.0
}

/// Steps between time axis ticks, in milliseconds, from which the axis picks.
const TICK_STEPS_MS: [i64; 16] = [
    100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
    1_800_000, 3_600_000,
];

/// Picks the smallest tick step that keeps ticks at least `min_spacing_px` apart.
pub fn tick_step_ms(scale: &TimeScale, min_spacing_px: f64) -> i64 {
    for step in TICK_STEPS_MS {
        if scale.x_of(scale.start_ms + step) >= min_spacing_px {
            return step;
        }
    }
    TICK_STEPS_MS[TICK_STEPS_MS.len() - 1]
}

/// Times of the ticks in the view: every multiple of `step_ms` from the first one
/// at or after the view start to the view end.
pub fn ticks(scale: &TimeScale, step_ms: i64) -> Vec<i64> {
    let step_ms = step_ms.max(1);
    let first = scale.start_ms.div_euclid(step_ms) * step_ms;
    let first = if first < scale.start_ms { first + step_ms } else { first };
    (0..)
        .map(|n| first + n * step_ms)
        .take_while(|&ms| ms <= scale.end_ms)
        .collect()
}

/// How a response latency reads to a caller, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyGrade {
    Fast,
    Noticeable,
    Slow,
}

/// Latency under which an answer is shown as fast, in milliseconds.
pub const FAST_LATENCY_MS: i64 = 1_000;
/// Latency from which an answer is shown as slow, in milliseconds.
pub const SLOW_LATENCY_MS: i64 = 2_000;

// NOTE: both thresholds are display choices for colouring bars; the analysis
// settings, not these constants, decide which turns are flagged.
pub fn latency_grade(latency_ms: i64) -> LatencyGrade {
    if latency_ms < FAST_LATENCY_MS {
        LatencyGrade::Fast
    } else if latency_ms < SLOW_LATENCY_MS {
        LatencyGrade::Noticeable
    } else {
        LatencyGrade::Slow
    }
}

/// Colours of one canvas, read from the widget's CSS custom properties so that the
/// host page's theme reaches the canvas too.
#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    pub background: String,
    pub axis: String,
    pub user: String,
    pub bot: String,
    pub neutral: String,
    pub pause: String,
    /// Overlap colours, painted at [`OVERLAP_ALPHA`] so the waveform shows through.
    pub barge_in: String,
    pub talk_over: String,
    pub backchannel: String,
    pub false_interruption: String,
    pub fast: String,
    pub noticeable: String,
    pub slow: String,
}

impl Palette {
    /// Colour of a speaker's waveform and speech shading; `None` is a channel
    /// nobody is known to speak on.
    pub fn speaker(&self, speaker: Option<Speaker>) -> &str {
        match speaker {
            Some(Speaker::User) => &self.user,
            Some(Speaker::Bot) => &self.bot,
            _ => &self.neutral,
        }
    }

    pub fn overlap(&self, kind: OverlapKind) -> &str {
        match kind {
            OverlapKind::BargeIn => &self.barge_in,
            OverlapKind::TalkOver => &self.talk_over,
            OverlapKind::Backchannel => &self.backchannel,
            OverlapKind::FalseInterruption => &self.false_interruption,
        }
    }

    pub fn latency(&self, grade: LatencyGrade) -> &str {
        match grade {
            LatencyGrade::Fast => &self.fast,
            LatencyGrade::Noticeable => &self.noticeable,
            LatencyGrade::Slow => &self.slow,
        }
    }
}

/// A stretch of time on the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A stretch where user and bot speak at once, with the kind that colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverlapBand {
    pub start_ms: i64,
    pub end_ms: i64,
    pub kind: OverlapKind,
}

/// A stretch of speech, with who speaks when that is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeechBand {
    pub start_ms: i64,
    pub end_ms: i64,
    pub speaker: Option<Speaker>,
}

/// Everything one channel's canvas shows, in CSS pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelScene<'a> {
    pub scale: TimeScale,
    pub height_px: f64,
    pub columns: &'a [Option<Column>],
    /// Speaker on this channel, for the waveform colour, or `None` when mixed.
    pub speaker: Option<Speaker>,
    pub speech: &'a [SpeechBand],
    pub pauses: &'a [Band],
    pub overlaps: &'a [OverlapBand],
    /// Response latencies as `(user_end_ms, bot_start_ms, latency_ms)`.
    pub latencies: &'a [(i64, i64, i64)],
    pub palette: &'a Palette,
}

/// Opacity of the speech shading behind the waveform.
const SPEECH_ALPHA: f64 = 0.13;

/// Opacity of overlap shading: strong enough to tell the four kinds apart, weak
/// enough to keep the waveform under it readable.
pub const OVERLAP_ALPHA: f64 = 0.3;

/// Height of a latency bar at the bottom of a canvas, in CSS pixels.
const LATENCY_BAR_PX: f64 = 5.0;

/// Paints one channel: speech shading, pauses, overlaps, the waveform and the
/// latency bars. `pixel_ratio` is the canvas's backing pixels per CSS pixel.
pub fn paint_channel(context: &CanvasRenderingContext2d, scene: &ChannelScene<'_>, pixel_ratio: f64) {
    let width = scene.scale.width_px;
    let height = scene.height_px;

    let _ = context.set_transform(pixel_ratio, 0.0, 0.0, pixel_ratio, 0.0, 0.0);
    context.clear_rect(0.0, 0.0, width, height);
    context.set_fill_style_str(&scene.palette.background);
    context.fill_rect(0.0, 0.0, width, height);

    paint_speech(context, scene);
    paint_bands(context, &scene.scale, scene.pauses, &scene.palette.pause, height);
    paint_overlaps(context, scene);

    context.set_fill_style_str(&scene.palette.axis);
    context.fill_rect(0.0, (height / 2.0).floor(), width, 1.0);

    paint_waveform(context, scene);
    paint_latencies(context, scene);
}

fn paint_speech(context: &CanvasRenderingContext2d, scene: &ChannelScene<'_>) {
    context.set_global_alpha(SPEECH_ALPHA);
    for band in scene.speech {
        if let Some((left, right)) = scene.scale.visible_span(band.start_ms, band.end_ms) {
            context.set_fill_style_str(scene.palette.speaker(band.speaker));
            context.fill_rect(left, 0.0, (right - left).max(1.0), scene.height_px);
        }
    }
    context.set_global_alpha(1.0);
}

/// Fills each band over the full canvas height; the pause colour has its own
/// transparency so that the waveform stays visible through it.
fn paint_bands(context: &CanvasRenderingContext2d, scale: &TimeScale, bands: &[Band], colour: &str, height: f64) {
    context.set_fill_style_str(colour);
    for band in bands {
        if let Some((left, right)) = scale.visible_span(band.start_ms, band.end_ms) {
            context.fill_rect(left, 0.0, (right - left).max(1.0), height);
        }
    }
}

fn paint_overlaps(context: &CanvasRenderingContext2d, scene: &ChannelScene<'_>) {
    context.set_global_alpha(OVERLAP_ALPHA);
    for overlap in scene.overlaps {
        if let Some((left, right)) = scene.scale.visible_span(overlap.start_ms, overlap.end_ms) {
            context.set_fill_style_str(scene.palette.overlap(overlap.kind));
            context.fill_rect(left, 0.0, (right - left).max(1.0), scene.height_px);
        }
    }
    context.set_global_alpha(1.0);
}

fn paint_waveform(context: &CanvasRenderingContext2d, scene: &ChannelScene<'_>) {
    let count = scene.columns.len();
    if count == 0 {
        return;
    }
    let column_width = scene.scale.width_px / count as f64;
    let gain = gain(scene.columns);

    context.set_fill_style_str(scene.palette.speaker(scene.speaker));
    for (index, column) in scene.columns.iter().enumerate() {
        let Some(column) = column else { continue };
        let top = y_of(column.max, scene.height_px, gain);
        let bottom = y_of(column.min, scene.height_px, gain);
        context.fill_rect(index as f64 * column_width, top, column_width.max(0.5), (bottom - top).max(1.0));
    }
}

fn paint_latencies(context: &CanvasRenderingContext2d, scene: &ChannelScene<'_>) {
    let top = scene.height_px - LATENCY_BAR_PX - 1.0;
    for &(user_end_ms, bot_start_ms, latency_ms) in scene.latencies {
        let (start, end) = if user_end_ms <= bot_start_ms { (user_end_ms, bot_start_ms) } else { (bot_start_ms, user_end_ms) };
        let Some((left, right)) = scene.scale.visible_span(start, end) else { continue };
        context.set_fill_style_str(scene.palette.latency(latency_grade(latency_ms)));
        context.fill_rect(left, top, (right - left).max(2.0), LATENCY_BAR_PX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start_ms: i64, channels: u16, data: Vec<i16>) -> PeaksWindow {
        // 8000 Hz at 80 samples per pixel gives 10 ms per peaks pixel.
        PeaksWindow { start_ms, end_ms: 0, sample_rate: 8000, samples_per_pixel: 80, channels, data }
    }

    #[test]
    fn scale_maps_time_to_pixels() {
        let scale = TimeScale::new(1_000, 3_000, 400.0);
        assert_eq!(scale.x_of(1_000), 0.0);
        assert_eq!(scale.x_of(2_000), 200.0);
        assert_eq!(scale.x_of(3_500), 500.0);
    }

    #[test]
    fn scale_maps_pixels_to_time_clamped() {
        let scale = TimeScale::new(1_000, 3_000, 400.0);
        assert_eq!(scale.ms_of(100.0), 1_500);
        assert_eq!(scale.ms_of(-10.0), 1_000);
        assert_eq!(scale.ms_of(900.0), 3_000);
    }

    #[test]
    fn scale_empty_range_has_no_division_by_zero() {
        let scale = TimeScale::new(500, 500, 100.0);
        assert_eq!(scale.span_ms(), 1);
        assert_eq!(TimeScale::new(0, 10, 0.0).ms_of(5.0), 0);
    }

    #[test]
    fn visible_span_clips_to_view() {
        let scale = TimeScale::new(0, 1_000, 100.0);
        assert_eq!(scale.visible_span(200, 300), Some((20.0, 30.0)));
        assert_eq!(scale.visible_span(-500, 100), Some((0.0, 10.0)));
        assert_eq!(scale.visible_span(900, 4_000), Some((90.0, 100.0)));
        assert_eq!(scale.visible_span(1_000, 2_000), None);
        assert_eq!(scale.visible_span(300, 300), None);
    }

    #[test]
    fn columns_one_peak_pixel_per_column() {
        let peaks = window(0, 1, vec![-10, 10, -20, 20, -30, 30]);
        let scale = TimeScale::new(0, 30, 3.0);
        let result = columns(&peaks, &[0], &scale, 3);
        assert_eq!(result, vec![Some(Column { min: -10, max: 10 }), Some(Column { min: -20, max: 20 }), Some(Column { min: -30, max: 30 })]);
    }

    #[test]
    fn columns_merge_several_peak_pixels() {
        let peaks = window(0, 1, vec![-10, 5, -2, 40, -7, 7, -1, 1]);
        let scale = TimeScale::new(0, 40, 2.0);
        let result = columns(&peaks, &[0], &scale, 2);
        assert_eq!(result[0], Some(Column { min: -10, max: 40 }));
        assert_eq!(result[1], Some(Column { min: -7, max: 7 }));
    }

    #[test]
    fn columns_pick_requested_channel() {
        // Two channels interleaved: pixel 0 is [ch0 min, ch0 max, ch1 min, ch1 max].
        let peaks = window(0, 2, vec![-1, 1, -100, 100]);
        let scale = TimeScale::new(0, 10, 1.0);
        assert_eq!(columns(&peaks, &[1], &scale, 1)[0], Some(Column { min: -100, max: 100 }));
        assert_eq!(columns(&peaks, &[0], &scale, 1)[0], Some(Column { min: -1, max: 1 }));
        assert_eq!(columns(&peaks, &[0, 1], &scale, 1)[0], Some(Column { min: -100, max: 100 }));
    }

    #[test]
    fn columns_outside_window_are_empty() {
        let peaks = window(100, 1, vec![-5, 5]);
        let scale = TimeScale::new(0, 200, 4.0);
        let result = columns(&peaks, &[0], &scale, 4);
        assert_eq!(result[0], None);
        assert_eq!(result[1], None);
        assert_eq!(result[2], Some(Column { min: -5, max: 5 }));
        assert_eq!(result[3], None);
    }

    #[test]
    fn columns_missing_channel_is_empty() {
        let peaks = window(0, 1, vec![-5, 5]);
        let scale = TimeScale::new(0, 10, 1.0);
        assert_eq!(columns(&peaks, &[3], &scale, 1), vec![None]);
    }

    #[test]
    fn columns_zero_sample_rate_is_empty() {
        let mut peaks = window(0, 1, vec![-5, 5]);
        peaks.sample_rate = 0;
        assert_eq!(columns(&peaks, &[0], &TimeScale::new(0, 10, 2.0), 2), vec![None, None]);
    }

    #[test]
    fn gain_lifts_quiet_channel() {
        let quiet = [Some(Column { min: -8192, max: 4096 })];
        assert!((gain(&quiet) - 0.9 * 4.0).abs() < 1e-9);
    }

    #[test]
    fn gain_capped_for_near_silence() {
        let silent = [Some(Column { min: -3, max: 3 }), None];
        assert_eq!(gain(&silent), MAX_GAIN);
    }

    #[test]
    fn gain_never_below_one() {
        let loud = [Some(Column { min: i16::MIN, max: i16::MAX })];
        assert_eq!(gain(&loud), 1.0);
        assert_eq!(gain(&[]), 1.0);
    }

    #[test]
    fn y_of_maps_full_scale_to_edges() {
        assert_eq!(y_of(0, 100.0, 1.0), 50.0);
        assert_eq!(y_of(i16::MIN, 100.0, 1.0), 100.0);
        assert_eq!(y_of(16384, 100.0, 1.0), 25.0);
        assert_eq!(y_of(16384, 100.0, 4.0), 0.0);
    }

    #[test]
    fn labels_far_apart_share_top_lane() {
        let slots = place_labels(&[(50.0, 30.0), (200.0, 30.0)], 400.0, 2);
        assert_eq!(slots, vec![LabelSlot { left_px: 35.0, lane: 0 }, LabelSlot { left_px: 185.0, lane: 0 }]);
    }

    #[test]
    fn labels_close_together_take_next_lane() {
        let slots = place_labels(&[(50.0, 30.0), (60.0, 30.0), (70.0, 30.0)], 400.0, 2);
        assert_eq!(slots[0].lane, 0);
        assert_eq!(slots[1].lane, 1);
        // Both lanes are taken, so the third label joins the lane that ends first.
        assert_eq!(slots[2].lane, 0);
    }

    #[test]
    fn labels_clamped_inside_view() {
        let slots = place_labels(&[(2.0, 30.0), (398.0, 30.0)], 400.0, 1);
        assert_eq!(slots[0].left_px, 0.0);
        assert_eq!(slots[1].left_px, 370.0);
    }

    #[test]
    fn label_width_grows_with_text() {
        assert_eq!(label_width("1.2 s"), 5.0 * 6.5 + 8.0);
    }

    #[test]
    fn tick_step_keeps_spacing() {
        // 60 s over 600 px: 10 px per second, so 80 px needs a 10 s step.
        let scale = TimeScale::new(0, 60_000, 600.0);
        assert_eq!(tick_step_ms(&scale, 80.0), 10_000);
    }

    #[test]
    fn tick_step_for_long_call_at_narrow_width() {
        let scale = TimeScale::new(0, 36_000_000, 100.0);
        assert_eq!(tick_step_ms(&scale, 80.0), 3_600_000);
    }

    #[test]
    fn ticks_start_at_first_multiple_in_view() {
        let scale = TimeScale::new(1_500, 5_000, 100.0);
        assert_eq!(ticks(&scale, 1_000), vec![2_000, 3_000, 4_000, 5_000]);
        assert_eq!(ticks(&TimeScale::new(0, 2_000, 10.0), 1_000), vec![0, 1_000, 2_000]);
    }

    #[test]
    fn latency_grades() {
        assert_eq!(latency_grade(999), LatencyGrade::Fast);
        assert_eq!(latency_grade(1_000), LatencyGrade::Noticeable);
        assert_eq!(latency_grade(2_000), LatencyGrade::Slow);
        assert_eq!(latency_grade(-200), LatencyGrade::Fast);
    }
}
