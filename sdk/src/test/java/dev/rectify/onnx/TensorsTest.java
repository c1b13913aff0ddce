package dev.rectify.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.ModelFormatException;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.onnx.proto.OnnxProto.TypeProto;
import dev.rectify.onnx.proto.OnnxProto.ValueInfoProto;
import org.junit.jupiter.api.Test;

class TensorsTest {

    @Test
    void rawRoundTrips() {
        float[] f = {1.5f, -2f, 0f, Float.MAX_VALUE, Float.NaN, -0f};
        TensorProto tf = Tensors.ofFloats("f", f, 2, 3);
        assertEquals(DataType.FLOAT_VALUE, tf.getDataType());
        assertEquals(24, tf.getRawData().size());
        assertEquals(0x3f, tf.getRawData().byteAt(3) & 0xff, "little-endian: 1.5f = 0x3fc00000");
        assertArrayEquals(f, Tensors.toFloatArray(tf));

        long[] l = {Long.MIN_VALUE, -1, 0, 42};
        assertArrayEquals(l, Tensors.toLongArray(Tensors.ofLongs("l", l, 4)));
        int[] i = {Integer.MIN_VALUE, -7, 9};
        assertArrayEquals(i, Tensors.toIntArray(Tensors.ofInts("i", i, 3)));
        assertArrayEquals(new float[] {Integer.MIN_VALUE, -7, 9}, Tensors.toFloatArray(Tensors.ofInts("i", i, 3)));
        boolean[] b = {true, false, true};
        TensorProto tb = Tensors.ofBooleans("b", b, 3);
        assertEquals(DataType.BOOL_VALUE, tb.getDataType());
        assertArrayEquals(b, Tensors.toBooleanArray(tb));
        assertArrayEquals(new double[] {0.25, -1}, toDoubles(Tensors.ofDoubles("d", new double[] {0.25, -1}, 2)));

        TensorProto s = Tensors.scalar("s", 3L);
        assertEquals(0, s.getDimsCount());
        assertArrayEquals(new long[] {3}, Tensors.toLongArray(s));
    }

    private static double[] toDoubles(TensorProto t) {
        float[] f = Tensors.toFloatArray(t);
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    @Test
    void typedFieldsAreReadAndConvertedToRaw() {
        TensorProto f = TensorProto.newBuilder()
                .setName("f")
                .setDataType(DataType.FLOAT_VALUE)
                .addDims(2)
                .addFloatData(1f)
                .addFloatData(2f)
                .build();
        assertArrayEquals(new float[] {1f, 2f}, Tensors.toFloatArray(f));
        assertEquals(Tensors.ofFloats("f", new float[] {1f, 2f}, 2).getRawData(), Tensors.rawBytes(f));
        assertEquals(Tensors.ofFloats("f", new float[] {1f, 2f}, 2), Tensors.withRawData(f));

        TensorProto l = TensorProto.newBuilder()
                .setDataType(DataType.INT64_VALUE)
                .addDims(2)
                .addInt64Data(5)
                .addInt64Data(-6)
                .build();
        assertArrayEquals(new long[] {5, -6}, Tensors.toLongArray(l));
        TensorProto u8 = TensorProto.newBuilder()
                .setDataType(DataType.UINT8_VALUE)
                .addDims(2)
                .addInt32Data(255)
                .addInt32Data(1)
                .build();
        assertArrayEquals(new long[] {255, 1}, Tensors.toLongArray(u8));
        assertEquals(2, Tensors.rawBytes(u8).size());
        TensorProto h = TensorProto.newBuilder()
                .setDataType(DataType.FLOAT16_VALUE)
                .addDims(3)
                .addInt32Data(0x3c00)
                .addInt32Data(0xc000)
                .addInt32Data(0x3555)
                .build();
        float[] hv = Tensors.toFloatArray(h);
        assertEquals(1f, hv[0]);
        assertEquals(-2f, hv[1]);
        assertEquals(0.33325195f, hv[2]);
        TensorProto bf = TensorProto.newBuilder()
                .setDataType(DataType.BFLOAT16_VALUE)
                .addDims(1)
                .addInt32Data(0x3fc0)
                .build();
        assertEquals(1.5f, Tensors.toFloatArray(bf)[0]);
    }

    @Test
    void errors() {
        assertThrows(InvalidArgumentException.class, () -> Tensors.ofFloats("x", new float[3], 2, 2));
        TensorProto bad = Tensors.ofFloats("w", new float[4], 4).toBuilder()
                .clearDims()
                .addDims(5)
                .build();
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Tensors.toFloatArray(bad));
        assertTrue(e.getMessage().contains("'w'"), e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> Tensors.toLongArray(Tensors.scalar("f", 1f)));
    }

    @Test
    void dtypeNamesAndSizes() {
        assertEquals("FLOAT", Tensors.dtypeName(1));
        assertEquals("BFLOAT16", Tensors.dtypeName(16));
        assertEquals("DATATYPE_99", Tensors.dtypeName(99));
        assertEquals(4, Tensors.elementSize(DataType.FLOAT_VALUE));
        assertEquals(8, Tensors.elementSize(DataType.INT64_VALUE));
        assertEquals(2, Tensors.elementSize(DataType.FLOAT16_VALUE));
        assertEquals(1, Tensors.elementSize(DataType.BOOL_VALUE));
        assertEquals(4, Tensors.elementBits(DataType.INT4_VALUE));
        assertEquals(3, Tensors.byteSize(DataType.INT4_VALUE, 5));
        assertThrows(InvalidArgumentException.class, () -> Tensors.elementSize(DataType.STRING_VALUE));
    }

    @Test
    void builders() {
        ValueInfoProto v = Builders.tensor("ids", DataType.INT64, "batch", 128L, null);
        var dims = v.getType().getTensorType().getShape().getDimList();
        assertEquals("batch", dims.get(0).getDimParam());
        assertEquals(128, dims.get(1).getDimValue());
        assertTrue(!dims.get(2).hasDimParam() && !dims.get(2).hasDimValue());
        assertEquals(
                2,
                Builders.tensor("w", DataType.FLOAT, new long[] {4, 5})
                        .getType()
                        .getTensorType()
                        .getShape()
                        .getDimCount());
        TypeProto seq = Builders.sequence("s", DataType.FLOAT, "n").getType();
        assertEquals(
                DataType.FLOAT_VALUE,
                seq.getSequenceType().getElemType().getTensorType().getElemType());
        assertTrue(!Builders.tensorAnyShape("a", DataType.FLOAT)
                .getType()
                .getTensorType()
                .hasShape());
        assertEquals("", Builders.opset("ai.onnx", 17).getDomain());
    }
}
