static u32 w2c_drop_load(Z_m_instance_t* instance) {
  FUNC_PROLOGUE;
  u32 w2c_i0;
  w2c_i0 = 65535u;
  w2c_i0 = i32_load(&instance->w2c_M0, (u64)(w2c_i0));
  w2c_i0 = 1u;
  FUNC_EPILOGUE;
  return w2c_i0;
}

static u32 w2c_load_then_div(Z_m_instance_t* instance, u32 w2c_p0) {
  FUNC_PROLOGUE;
  u32 w2c_i0, w2c_i1;
  w2c_i0 = 70000u;
  w2c_i0 = i32_load(&instance->w2c_M0, (u64)(w2c_i0));
  w2c_i1 = w2c_p0;
  w2c_i0 = I32_DIV_S(w2c_i0, w2c_i1);
  FUNC_EPILOGUE;
  return w2c_i0;
}

static u32 w2c_load_then_unreachable(Z_m_instance_t* instance) {
  FUNC_PROLOGUE;
  u32 w2c_i0;
  w2c_i0 = 70000u;
  w2c_i0 = i32_load(&instance->w2c_M0, (u64)(w2c_i0));
  UNREACHABLE;
  FUNC_EPILOGUE;
  return w2c_i0;
}

static u32 w2c_load_before_store(Z_m_instance_t* instance) {
  FUNC_PROLOGUE;
  u32 w2c_i0, w2c_i1, w2c_i2;
  w2c_i0 = 8u;
  w2c_i1 = 7u;
  i32_store(&instance->w2c_M0, (u64)(w2c_i0), w2c_i1);
  w2c_i0 = 8u;
  w2c_i0 = i32_load(&instance->w2c_M0, (u64)(w2c_i0));
  w2c_i1 = 8u;
  w2c_i2 = 40u;
  i32_store(&instance->w2c_M0, (u64)(w2c_i1), w2c_i2);
  w2c_i1 = 8u;
  w2c_i1 = i32_load(&instance->w2c_M0, (u64)(w2c_i1));
  w2c_i0 += w2c_i1;
  FUNC_EPILOGUE;
  return w2c_i0;
}

static u32 w2c_load_before_call(Z_m_instance_t* instance) {
  FUNC_PROLOGUE;
  u32 w2c_i0, w2c_i1, w2c_i2;
  w2c_i0 = 0u;
  w2c_i1 = 3u;
  i32_store(&instance->w2c_M0, (u64)(w2c_i0), w2c_i1);
  w2c_i0 = 0u;
  w2c_i0 = i32_load(&instance->w2c_M0, (u64)(w2c_i0));
  w2c_i1 = instance->w2c_g0;
  w2c_i2 = w2c_f0(instance);
  w2c_i1 += w2c_i2;
  w2c_i0 += w2c_i1;
  w2c_i1 = 0u;
  w2c_i1 = i32_load(&instance->w2c_M0, (u64)(w2c_i1));
  w2c_i0 *= w2c_i1;
  w2c_i1 = instance->w2c_g0;
  w2c_i0 += w2c_i1;
  FUNC_EPILOGUE;
  return w2c_i0;
}

static u32 w2c_tee(Z_m_instance_t* instance, u32 w2c_p0) {
  u32 w2c_l1 = 0;
  FUNC_PROLOGUE;
  u32 w2c_i0, w2c_i1;
  w2c_i0 = w2c_p0;
  w2c_i1 = 3u;
  w2c_i0 *= w2c_i1;
  w2c_l1 = w2c_i0;
  w2c_i1 = 100u;
  w2c_p0 = w2c_i1;
  w2c_i1 = w2c_l1;
  w2c_i0 += w2c_i1;
  w2c_i1 = w2c_p0;
  w2c_i0 += w2c_i1;
  FUNC_EPILOGUE;
  return w2c_i0;
}

static u32 w2c_local_overwrite(Z_m_instance_t* instance, u32 w2c_p0) {
  FUNC_PROLOGUE;
  u32 w2c_i0, w2c_i1;
  w2c_i0 = w2c_p0;
  w2c_i1 = 1u;
  w2c_i0 += w2c_i1;
  w2c_i1 = 1000u;
  w2c_p0 = w2c_i1;
  w2c_i1 = w2c_p0;
  w2c_i0 -= w2c_i1;
  FUNC_EPILOGUE;
  return w2c_i0;
}

static f32 w2c_select_f32(Z_m_instance_t* instance, f32 w2c_p0, f32 w2c_p1) {
  FUNC_PROLOGUE;
  u32 w2c_i2;
  f32 w2c_f0_0, w2c_f1, w2c_f2, w2c_f3;
  w2c_f0_0 = w2c_p0;
  w2c_f1 = w2c_p1;
  w2c_f0_0 *= w2c_f1;
  w2c_f1 = w2c_p0;
  w2c_f2 = w2c_p1;
  w2c_f1 += w2c_f2;
  w2c_f2 = w2c_p0;
  w2c_f3 = w2c_p1;
  w2c_i2 = w2c_f2 > w2c_f3;
  w2c_f0_0 = w2c_i2 ? w2c_f0_0 : w2c_f1;
  FUNC_EPILOGUE;
  return w2c_f0_0;
}

static u32 w2c_rot(Z_m_instance_t* instance, u32 w2c_p0, u32 w2c_p1) {
  FUNC_PROLOGUE;
  u32 w2c_i0, w2c_i1, w2c_i2;
  w2c_i0 = w2c_p0;
  w2c_i1 = 1u;
  w2c_i0 += w2c_i1;
  w2c_i1 = w2c_p1;
  w2c_i0 = I32_ROTL(w2c_i0, w2c_i1);
  w2c_i1 = w2c_p0;
  w2c_i2 = 7u;
  w2c_i1 = I32_ROTR(w2c_i1, w2c_i2);
  w2c_i0 ^= w2c_i1;
  FUNC_EPILOGUE;
  return w2c_i0;
}

/* export: 'drop_load' */
u32 Z_mZ_drop_load(Z_m_instance_t* instance) {
  return w2c_drop_load(instance);
