//! G.711 mu-law and A-law expansion to 16-bit linear PCM (ITU-T G.711, as in the
//! reference tables of SoX and the Sun `g711.c` code: mu-law spans ±32124, A-law ±32256).

/// Linear value of every mu-law code.
pub static MULAW_TO_LINEAR: [i16; 256] = build_mulaw_table();

/// Linear value of every A-law code.
pub static ALAW_TO_LINEAR: [i16; 256] = build_alaw_table();

/// Smallest magnitude counted as clipped: the two loudest codes of each law, which is
/// "at or within one step of full scale".
pub const MULAW_CLIP_MAGNITUDE: i16 = 31100;
pub const ALAW_CLIP_MAGNITUDE: i16 = 31232;

const MULAW_BIAS: i16 = 0x84;

const fn mulaw_to_linear(code: u8) -> i16 {
    let code = !code;
    let exponent = (code >> 4) & 0x07;
    let mantissa = (code & 0x0F) as i16;
    let magnitude = (((mantissa << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS;
    if code & 0x80 != 0 { -magnitude } else { magnitude }
}

const fn alaw_to_linear(code: u8) -> i16 {
    let code = code ^ 0x55;
    let segment = (code & 0x70) >> 4;
    let mut magnitude = ((code & 0x0F) as i16) << 4;
    magnitude = match segment {
        0 => magnitude + 8,
        1 => magnitude + 0x108,
        _ => (magnitude + 0x108) << (segment - 1),
    };
    if code & 0x80 != 0 { magnitude } else { -magnitude }
}

const fn build_mulaw_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = mulaw_to_linear(code as u8);
        code += 1;
    }
    table
}

const fn build_alaw_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = alaw_to_linear(code as u8);
        code += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mulaw_reference_values() {
        assert_eq!(MULAW_TO_LINEAR[0xFF], 0);
        assert_eq!(MULAW_TO_LINEAR[0x7F], 0);
        assert_eq!(MULAW_TO_LINEAR[0x80], 32124);
        assert_eq!(MULAW_TO_LINEAR[0x00], -32124);
        assert_eq!(MULAW_TO_LINEAR[0x81], 31100);
    }

    #[test]
    fn alaw_reference_values() {
        assert_eq!(ALAW_TO_LINEAR[0xD5], 8);
        assert_eq!(ALAW_TO_LINEAR[0x55], -8);
        assert_eq!(ALAW_TO_LINEAR[0xAA], 32256);
        assert_eq!(ALAW_TO_LINEAR[0x2A], -32256);
        assert_eq!(ALAW_TO_LINEAR[0xAB], 31232);
    }

    #[test]
    fn tables_are_odd_symmetric() {
        for code in 0..128usize {
            assert_eq!(MULAW_TO_LINEAR[code], -MULAW_TO_LINEAR[code | 0x80], "mu-law code {code:#x}");
            assert_eq!(ALAW_TO_LINEAR[code], -ALAW_TO_LINEAR[code | 0x80], "A-law code {code:#x}");
        }
    }
}
